/**
 * Server-rendered pages: EJS templates from one folder. Each template is compiled once per
 * process: templates ship with a release, and express's default (compile on every render unless
 * NODE_ENV=production) is work for nothing on every page view.
 */
import type { Express } from 'express';

export function renderPagesFrom(app: Express, viewsDir: string): void {
  app.set('views', viewsDir);
  app.set('view engine', 'ejs');
  app.set('view cache', true);
}
