import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';

/**
 * Reads and parses a JSON file. Malformed JSON is reported with its line and column, which
 * JSON.parse does not always give, so a small scanner finds the first error itself.
 */
export function readJsonFile(file: string, displayName = file): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ file: displayName, path: [], message: `cannot read the file: ${describeFsError(err)}` }]);
  }
  return parseJsonText(text, displayName);
}

export function parseJsonText(text: string, displayName: string): unknown {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    const { offset, message } = locateJsonError(body);
    const { line, column } = lineAndColumn(body, offset);
    throw new ConfigError([
      { file: displayName, path: [], message: `malformed JSON at line ${line}, column ${column}: ${message}` },
    ]);
  }
  // JSON.parse keeps the last of two equal keys: `{"eve": ["!ALL"], "eve": ["READ"]}` would
  // silently lose the negation, so a duplicate is refused rather than resolved.
  const duplicate = findJsonProblem(body);
  if (duplicate) {
    const { line, column } = lineAndColumn(body, duplicate.offset);
    throw new ConfigError([{ file: displayName, path: [], message: `at line ${line}, column ${column}: ${duplicate.message}` }]);
  }
  return value;
}

function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'it is a folder';
  return code ?? String(err);
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

class SyntaxAt extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

/** Where and why JSON.parse refused a text. */
function locateJsonError(text: string): { offset: number; message: string } {
  // The scanner accepts something JSON.parse rejected: point at the start rather than guess.
  return findJsonProblem(text) ?? { offset: 0, message: 'not valid JSON' };
}

/** Walks the text by the JSON grammar (duplicate keys included) and returns where and why it
 * first goes wrong, or undefined when nothing does. */
function findJsonProblem(text: string): { offset: number; message: string } | undefined {
  let pos = 0;
  const fail = (message: string): never => {
    throw new SyntaxAt(pos, message);
  };
  const describeHere = (): string =>
    pos >= text.length ? 'unexpected end of input' : `unexpected character ${JSON.stringify(text[pos])}`;
  const skipSpace = (): void => {
    while (pos < text.length && ' \t\n\r'.includes(text[pos] as string)) pos++;
  };
  const expect = (char: string, context: string): void => {
    skipSpace();
    if (text[pos] !== char) fail(`expected ${JSON.stringify(char)} ${context}, found ${describeHere().replace(/^unexpected /, '')}`);
    pos++;
  };
  const string = (): void => {
    pos++; // opening quote
    for (;;) {
      if (pos >= text.length) fail('unterminated string');
      const char = text[pos] as string;
      if (char === '"') {
        pos++;
        return;
      }
      if (char < ' ') fail('control character inside a string (write \\n, \\t, …)');
      if (char === '\\') {
        pos++;
        const escape = text[pos];
        if (escape === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(pos + 1, pos + 5))) fail('bad \\u escape');
          pos += 5;
        } else if (escape !== undefined && '"\\/bfnrt'.includes(escape)) pos++;
        else fail('bad escape in a string');
      } else pos++;
    }
  };
  const number = (): void => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(pos));
    if (!match) fail('malformed number');
    pos += (match as RegExpExecArray)[0].length;
  };
  const value = (): void => {
    skipSpace();
    const char = text[pos];
    if (char === '{') return object();
    if (char === '[') return array();
    if (char === '"') return string();
    if (char === '-' || (char !== undefined && char >= '0' && char <= '9')) return number();
    for (const literal of ['true', 'false', 'null']) {
      if (text.startsWith(literal, pos)) {
        pos += literal.length;
        return;
      }
    }
    fail(`${describeHere()}; expected a value`);
  };
  /** `{…}` or `[…]`: items separated by commas, no trailing comma. */
  const sequence = (close: '}' | ']', item: () => void): void => {
    pos++;
    skipSpace();
    if (text[pos] === close) {
      pos++;
      return;
    }
    for (;;) {
      skipSpace();
      item();
      skipSpace();
      if (text[pos] === ',') {
        pos++;
        continue;
      }
      if (text[pos] === close) {
        pos++;
        return;
      }
      fail(`${describeHere()}; expected "," or "${close}"`);
    }
  };
  const member = (keys: Set<string>): void => {
    if (text[pos] !== '"') fail(`${describeHere()}; expected a key in double quotes (no trailing commas in JSON)`);
    const start = pos;
    string();
    const key = JSON.parse(text.slice(start, pos)) as string;
    if (keys.has(key)) {
      pos = start;
      fail(`duplicate key ${JSON.stringify(key)}: JSON keeps only the last one, so an earlier value would be silently ignored`);
    }
    keys.add(key);
    expect(':', 'after a key');
    value();
  };
  const element = (): void => {
    if (text[pos] === ']') fail('unexpected "]"; no trailing commas in JSON');
    value();
  };
  const object = (): void => {
    const keys = new Set<string>();
    sequence('}', () => member(keys));
  };
  const array = (): void => sequence(']', element);
  try {
    value();
    skipSpace();
    if (pos < text.length) fail(`${describeHere()} after the end of the JSON value`);
  } catch (err) {
    if (err instanceof SyntaxAt) return { offset: err.offset, message: err.message };
    throw err;
  }
  return undefined;
}
