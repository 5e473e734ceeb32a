import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import express, { Router, type Response } from 'express';

/** The repository's static/ tree: stylesheets and every page script, the hub's and the servers'. */
export const STATIC_DIR = join(import.meta.dirname, '..', '..', 'static');

/** graphql-ws's browser client (an ES module and the one chunk it imports), served as it ships:
 * no bundler, and the same version the servers speak. */
const GRAPHQL_WS_DIST = dirname(createRequire(import.meta.url).resolve('graphql-ws'));
const GRAPHQL_WS_FILES = /^(client|common-[\w-]+)\.js$/;
export const VENDOR_GRAPHQL_WS = 'vendor/graphql-ws';

const VERSIONED = /^v-[0-9a-f]{12}$/;
const FOREVER = 'public, max-age=31536000, immutable';

function filesBelow(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesBelow(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []))
    .sort();
}

/** A digest of every file a page can load: it changes whenever one of them does. */
function contentVersion(): string {
  const hash = createHash('sha256');
  const vendor = readdirSync(GRAPHQL_WS_DIST).filter((f) => GRAPHQL_WS_FILES.test(f)).sort().map((f) => join(GRAPHQL_WS_DIST, f));
  for (const file of [...filesBelow(STATIC_DIR), ...vendor]) {
    hash.update(relative(STATIC_DIR, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return `v-${hash.digest('hex').slice(0, 12)}`;
}

let version: string | undefined;
/** Computed once per process, on first use: the tree does not change under a running release. */
export function assetVersion(): string {
  version ??= contentVersion();
  return version;
}

/** The URL prefix (no trailing slash) under which a page names static files, for a tree mounted at `mount`. */
export function assetBase(mount: string): string {
  return `${mount}/${assetVersion()}`;
}

/** The relative specifiers of a module's static imports and re-exports (our scripts and graphql-ws's write one a line). */
const STATIC_IMPORT = /^(?:import|export)\b[^'"]*?\bfrom\s*['"](\.\.?\/[^'"]+)['"]|^import\s*['"](\.\.?\/[^'"]+)['"]/gm;

/** The file behind a path below the versioned base, e.g. `js/gql.js` or `vendor/graphql-ws/client.js`. */
function fileOf(path: string): string {
  return path.startsWith(`${VENDOR_GRAPHQL_WS}/`) ? join(GRAPHQL_WS_DIST, path.slice(VENDOR_GRAPHQL_WS.length + 1)) : join(STATIC_DIR, path);
}

const importsOf = new Map<string, string[]>();
/**
 * Every module that the page script `entry` (a path below the versioned base, `js/workflows.js`)
 * imports, directly or not, as paths below the same base. A page names them all for preloading,
 * so that a browser without them cached fetches them at once rather than one level of imports
 * after another. Read once per entry: the tree does not change under a running release.
 */
export function moduleImports(entry: string): string[] {
  let found = importsOf.get(entry);
  if (found === undefined) {
    const seen = new Set<string>([entry]);
    const queue = [entry];
    for (let path = queue.shift(); path !== undefined; path = queue.shift()) {
      for (const [, from, bare] of readFileSync(fileOf(path), 'utf8').matchAll(STATIC_IMPORT)) {
        const target = new URL(from ?? bare ?? '', `file:///${path}`).pathname.slice(1);
        if (seen.has(target)) continue;
        seen.add(target);
        queue.push(target);
      }
    }
    found = [...seen].slice(1);
    importsOf.set(entry, found);
  }
  return found;
}

/**
 * Serves static/ (and graphql-ws's browser client under `vendor/graphql-ws/`) below `<mount>/<version>/`.
 * Pages name scripts with the current version and scripts import each other by relative URLs, so
 * a page and every module it loads come from one release: the current version is cached for good,
 * and any other version (a tab opened before an upgrade) gets today's files, never cached. Paths
 * without a version keep working, uncached, for links written by hand.
 */
export function staticAssets(): Router {
  const router = Router();
  const current = assetVersion();
  const caching = (res: Response, cacheable: boolean) => res.setHeader('Cache-Control', cacheable ? FOREVER : 'no-cache');
  const serve = (dir: string, cacheable: boolean) =>
    express.static(dir, { index: false, fallthrough: false, cacheControl: false, etag: !cacheable, setHeaders: (res) => caching(res, cacheable) });
  const tree = { current: serve(STATIC_DIR, true), other: serve(STATIC_DIR, false) };
  const vendor = { current: serve(GRAPHQL_WS_DIST, true), other: serve(GRAPHQL_WS_DIST, false) };

  router.use((req, res, next) => {
    const [, first, ...rest] = req.path.split('/');
    const versioned = first !== undefined && VERSIONED.test(first);
    const path = versioned ? `/${rest.join('/')}` : req.path;
    const cacheable = versioned && first === current;
    req.url = path + (req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '');
    if (path.startsWith(`/${VENDOR_GRAPHQL_WS}/`)) {
      const file = path.slice(VENDOR_GRAPHQL_WS.length + 2);
      if (!GRAPHQL_WS_FILES.test(file)) {
        res.status(404).type('text/plain').send('not found');
        return;
      }
      req.url = `/${file}`;
      (cacheable ? vendor.current : vendor.other)(req, res, next);
      return;
    }
    (cacheable ? tree.current : tree.other)(req, res, next);
  });
  return router;
}
