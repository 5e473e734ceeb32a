import type { Readable } from 'node:stream';

/** Longest line passed on whole; a longer one is cut here, so no output can grow the hub's memory. */
export const MAX_LINE_CHARS = 8_192;

/**
 * Calls `onLine` for each line a process writes to `stream` (without its newline, and without
 * the carriage return of CRLF), cutting overlong lines; a last line without a newline is passed
 * on when the stream ends.
 */
export function eachLine(stream: Readable, onLine: (line: string) => void): void {
  let pending = '';
  let cut = false;
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    let start = 0;
    for (let nl = chunk.indexOf('\n'); nl !== -1; nl = chunk.indexOf('\n', start)) {
      const line = pending + chunk.slice(start, nl);
      if (!cut) onLine(line.slice(0, MAX_LINE_CHARS).replace(/\r$/, ''));
      pending = '';
      cut = false;
      start = nl + 1;
    }
    if (cut) return;
    pending += chunk.slice(start);
    if (pending.length > MAX_LINE_CHARS) {
      onLine(`${pending.slice(0, MAX_LINE_CHARS)} [line cut at ${MAX_LINE_CHARS} characters]`);
      pending = '';
      cut = true;
    }
  });
  stream.on('end', () => {
    if (pending !== '' && !cut) onLine(pending.replace(/\r$/, ''));
    pending = '';
  });
}
