import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { parseJsonText, readJsonFile } from '../../src/config/json.js';

function errorOf(text: string): string {
  try {
    parseJsonText(text, 'site.json');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('malformed JSON', () => {
  it('parses good JSON, with or without a byte-order mark', () => {
    expect(parseJsonText('{"a": [1, 2.5e3, "x\\n", true, null]}', 'f')).toEqual({ a: [1, 2500, 'x\n', true, null] });
    expect(parseJsonText('\uFEFF{"a": 1}', 'f')).toEqual({ a: 1 });
  });

  it.each([
    ['{\n  "a": 1,\n}', 'site.json: malformed JSON at line 3, column 1: unexpected character "}"; expected a key in double quotes (no trailing commas in JSON)'],
    ['{\n  "a": \n}', 'site.json: malformed JSON at line 3, column 1: unexpected character "}"; expected a value'],
    ['{"a": 1 "b": 2}', 'site.json: malformed JSON at line 1, column 9: unexpected character "\\""; expected "," or "}"'],
    ['[1, 2,]', 'site.json: malformed JSON at line 1, column 7: unexpected "]"; no trailing commas in JSON'],
    ['{"a" 1}', 'site.json: malformed JSON at line 1, column 6: expected ":" after a key, found character "1"'],
    ['', 'site.json: malformed JSON at line 1, column 1: unexpected end of input; expected a value'],
    ['{"a": 1}\nx', 'site.json: malformed JSON at line 2, column 1: unexpected character "x" after the end of the JSON value'],
    ['{"a": "b', 'site.json: malformed JSON at line 1, column 9: unterminated string'],
    ["{'a': 1}", 'site.json: malformed JSON at line 1, column 2: unexpected character "\'"; expected a key in double quotes (no trailing commas in JSON)'],
    ['{"a": 01}', 'site.json: malformed JSON at line 1, column 8: unexpected character "1"; expected "," or "}"'],
    ['{"a": "\\x"}', 'site.json: malformed JSON at line 1, column 9: bad escape in a string'],
  ])('reports %j with its line and column', (text, message) => {
    expect(errorOf(text)).toBe(message);
  });

  describe('files', () => {
    let dir: string;
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('names a missing file', () => {
      dir = mkdtempSync(join(tmpdir(), 'flotilla-json-'));
      expect(() => readJsonFile(join(dir, 'nope.json'), 'nope.json')).toThrow('nope.json: cannot read the file: no such file');
    });

    it('counts lines in a real file', () => {
      dir = mkdtempSync(join(tmpdir(), 'flotilla-json-'));
      const file = join(dir, 'c.json');
      writeFileSync(file, '{\n  "JupyterHub": {\n    "bind_url": "x",,\n  }\n}\n');
      expect(() => readJsonFile(file)).toThrow(`${file}: malformed JSON at line 3, column 21: unexpected character ","`);
    });
  });
});
