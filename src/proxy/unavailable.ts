import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

const RETRY_AFTER_SECONDS = 5;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function message(owner: string): string {
  return `The workflow server of ${owner} is not answering.`;
}

function wantsHtml(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').includes('text/html');
}

/** A small page of its own (the shared stylesheet may be unreachable too), with a way back. */
function page(owner: string): string {
  const who = escapeHtml(owner);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Server not answering · Flotilla</title>
<style>
  body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: #1f2933; background: #f5f7fa; }
  main { max-width: 36rem; margin: 12vh auto; padding: 2rem; background: #fff;
         border: 1px solid #d9e2ec; border-radius: 8px; }
  h1 { margin-top: 0; font-size: 1.4rem; }
  a.button { display: inline-block; padding: .5rem 1rem; border-radius: 6px; background: #2563eb;
             color: #fff; text-decoration: none; }
</style>
</head>
<body>
<main>
  <h1>This server is not answering</h1>
  <p>The workflow server of <strong>${who}</strong> is not answering right now. It may have
  stopped, or be starting or restarting. Try again in a few seconds, or start it from the hub.</p>
  <p><a class="button" href="/hub/home">Go to the hub home page</a></p>
</main>
</body>
</html>
`;
}

/** 503 for a request whose workflow server is down: a page for browsers, JSON for the rest. */
export function sendUnavailable(req: IncomingMessage, res: ServerResponse, owner: string): void {
  const html = wantsHtml(req);
  const body = html ? page(owner) : JSON.stringify({ message: message(owner), status: 503 });
  res.writeHead(503, {
    'content-type': html ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'retry-after': String(RETRY_AFTER_SECONDS),
  });
  res.end(body);
}

/** The same refusal on a WebSocket upgrade, written as raw HTTP before the socket is closed. */
export function refuseUpgrade(socket: Duplex, owner: string): void {
  const body = JSON.stringify({ message: message(owner), status: 503 });
  socket.end(
    'HTTP/1.1 503 Service Unavailable\r\n' +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `Retry-After: ${RETRY_AFTER_SECONDS}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
    () => socket.destroy(),
  );
}
