/**
 * Every page of the hub and of a workflow server carries the security headers: a CSP that runs
 * no inline script, applies no inline style and lets no site frame us, X-Frame-Options, nosniff
 * and a Referrer-Policy; the templates and page scripts hold no inline script, event-handler
 * attribute, <style> element or style attribute that such a CSP would block.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { signIn, startHub, type HubFixture } from '../hub/helpers.js';
import { startTestServer, type TestServer } from '../server/helpers.js';
import { assetVersion } from '../../src/util/static-assets.js';

const VIEWS = join(import.meta.dirname, '..', '..', 'views');
const STATIC = join(import.meta.dirname, '..', '..', 'static');

/** The directives of a Content-Security-Policy header, by name. */
function directives(csp: string | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of (csp ?? '').split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) out.set(name, values);
  }
  return out;
}

function expectSecurityHeaders(res: request.Response, what: string): void {
  const csp = directives(res.headers['content-security-policy']);
  expect(res.headers['content-security-policy'], what).not.toContain("'unsafe-inline'");
  expect(csp.get('script-src'), what).toEqual(["'self'"]);
  expect(csp.get('script-src-attr'), what).toEqual(["'none'"]);
  expect(csp.get('style-src'), what).toEqual(["'self'"]);
  expect(csp.get('default-src'), what).toEqual(["'self'"]);
  expect(csp.get('object-src'), what).toEqual(["'none'"]);
  expect(csp.get('frame-ancestors'), what).toEqual(["'none'"]);
  expect(res.headers['x-frame-options'], what).toBe('DENY');
  expect(res.headers['x-content-type-options'], what).toBe('nosniff');
  expect(['same-origin', 'no-referrer'], what).toContain(res.headers['referrer-policy']);
}

describe('security headers of the hub', () => {
  let f: HubFixture;
  let cookieAgent: ReturnType<HubFixture['agent']>;

  beforeAll(async () => {
    f = await startHub();
    cookieAgent = f.agent();
    await signIn(cookieAgent, 'admin');
  });
  afterAll(() => f.close());

  it('on every kind of answer: pages, redirects, errors, scripts, styles, API', async () => {
    const anonymous = request(f.url);
    const answers: [string, request.Response, number][] = [
      ['login page', await anonymous.get('/hub/login'), 200],
      ['redirect to sign-in', await anonymous.get('/hub/home').set('Accept', 'text/html'), 302],
      ['not found page', await anonymous.get('/hub/nowhere').set('Accept', 'text/html'), 404],
      ['API 401', await anonymous.get('/hub/api/user'), 401],
      ['token in URL 400', await anonymous.get('/hub/api/user?token=x'), 400],
      ['home page', await cookieAgent.get('/hub/home'), 200],
      ['admin page', await cookieAgent.get('/hub/admin'), 200],
      ['monitor page', await cookieAgent.get('/hub/monitor'), 200],
      ['page script', await cookieAgent.get(`/hub/static/${assetVersion()}/js/hub/home.js`), 200],
      ['stylesheet', await cookieAgent.get('/hub/static/css/flotilla.css'), 200],
      ['API answer', await cookieAgent.get('/hub/api/user'), 200],
      ['server not running', await cookieAgent.get('/user/admin/api/userprofile').set('Accept', 'application/json'), 503],
    ];
    for (const [what, res, status] of answers) {
      expect(res.status, what).toBe(status);
      expectSecurityHeaders(res, what);
    }
    // Plain http: no HSTS, and nothing to upgrade.
    expect(answers[0]![1].headers['strict-transport-security']).toBeUndefined();
  });

  it('under an https bind_url also HSTS and upgrade-insecure-requests', async () => {
    const tls = await startHub({ hub: { bind_url: 'https://127.0.0.1:8443' } });
    try {
      const res = await request(tls.url).get('/hub/login').set('X-Forwarded-Proto', 'https');
      expectSecurityHeaders(res, 'https login page');
      expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      expect(directives(res.headers['content-security-policy']).has('upgrade-insecure-requests')).toBe(true);
    } finally {
      await tls.close();
    }
  });
});

describe('security headers of a workflow server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ owner: 'alice', flows: { hello: 'tasks:\n  greet:\n    script: echo hello\n' } });
  });
  afterAll(() => server.close());

  it('on pages, static files, API and refusals', async () => {
    const answers: [string, request.Response][] = [
      ['workflow list', await server.get({ user: 'alice' }, server.base)],
      ['workflow page', await server.get({ user: 'alice' }, `${server.base}workflows/hello`)],
      ['sharing page', await server.get({ user: 'alice' }, `${server.base}sharing`)],
      ['script', await server.get({ user: 'alice' }, `${server.base}static/js/workflow.js`)],
      ['no proof', await request(server.url).get(server.base)],
    ];
    for (const [what, res] of answers) expectSecurityHeaders(res, what);
    expect(answers[0]![1].status).toBe(200);
  });
});

describe('templates and page scripts', () => {
  const filesIn = (dir: string, ext: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesIn(join(dir, e.name), ext) : e.name.endsWith(ext) ? [join(dir, e.name)] : []));

  it('hold no inline script, event-handler attribute or javascript: URL (the CSP would block them)', () => {
    const files = filesIn(VIEWS, '.ejs');
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const tag of text.match(/<script\b[^>]*>/gi) ?? []) {
        // Data blocks (type="application/json") are not run; every other script comes from a file.
        expect(/\bsrc=/.test(tag) || /type="application\/json"/.test(tag), `${file}: ${tag}`).toBe(true);
      }
      expect(text, file).not.toMatch(/<[^>]+\son[a-z]+\s*=/i);
      expect(text, file).not.toMatch(/javascript:/i);
    }
  });

  it('hold no <style> element or style attribute, nor set one from a script (the CSP would block them)', () => {
    const templates = filesIn(VIEWS, '.ejs');
    const scripts = filesIn(STATIC, '.js');
    expect(scripts.length).toBeGreaterThan(5);
    for (const file of templates) {
      const text = readFileSync(file, 'utf8');
      expect(text, file).not.toMatch(/<style\b/i);
      expect(text, file).not.toMatch(/<[^>]+\sstyle\s*=/i);
    }
    // Scripts may set computed values through the CSSOM (node.style.width), which the CSP allows.
    for (const file of scripts) {
      const text = readFileSync(file, 'utf8');
      expect(text, file).not.toMatch(/<style\b/i);
      expect(text, file).not.toMatch(/\sstyle\s*=\s*["'\\]/i);
      expect(text, file).not.toMatch(/setAttribute\(\s*['"`]style['"`]/i);
    }
  });
});
