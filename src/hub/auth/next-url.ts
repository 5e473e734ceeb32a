const DEFAULT_NEXT = '/hub/home';
const PROBE_ORIGIN = 'http://hub.invalid';

/**
 * The `next` target after sign-in, only when it is a path on this hub. Anything that a browser
 * could read as another host (`//host`, `/\host`, schemes, the same hidden behind percent
 * encoding or control characters) falls back to the home page.
 */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || next.length === 0 || next.length > 2048) return DEFAULT_NEXT;
  if (!next.startsWith('/') || /[\\\u0000-\u001f\u007f]/.test(next)) return DEFAULT_NEXT;
  let decoded = next;
  for (let i = 0; i < 3; i++) {
    try {
      const once = decodeURIComponent(decoded);
      if (once === decoded) break;
      decoded = once;
    } catch {
      return DEFAULT_NEXT;
    }
  }
  if (/^\/[/\\]/.test(decoded) || /[\\\u0000-\u001f\u007f]/.test(decoded)) return DEFAULT_NEXT;
  let url: URL;
  try {
    url = new URL(next, PROBE_ORIGIN);
  } catch {
    return DEFAULT_NEXT;
  }
  if (url.origin !== PROBE_ORIGIN) return DEFAULT_NEXT;
  // Resolving dot segments can leave an empty first segment (`/.//evil.com` → `//evil.com`),
  // which a browser reads as another host; the resolved path is what gets sent, so check it too.
  if (/^\/[/\\]/.test(url.pathname)) return DEFAULT_NEXT;
  return url.pathname + url.search + url.hash;
}
