/**
 * JSON.parse keeps only the last of two equal keys. In an authorization file that silently drops
 * whatever came first: `{"eve": ["!ALL"], "eve": ["READ"]}` would give eve READ. A duplicate key
 * is a configuration error, reported with its place, and the file's old meaning stays in force.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseJsonText } from '../../src/config/json.js';
import { loadOwnerAuthorization } from '../../src/config/index.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('duplicate keys in configuration JSON', () => {
  it('are refused, naming the key and its line', () => {
    const text = '{\n  "*": ["READ"],\n  "eve": ["!ALL"],\n  "eve": ["READ"]\n}\n';
    expect(() => parseJsonText(text, 'owner.json')).toThrow(/owner\.json.*line 4.*duplicate key "eve"/s);
  });

  it('are refused at any depth, and told apart after unescaping', () => {
    expect(() => parseJsonText('{"a": {"b": 1, "\\u0062": 2}}', 'f')).toThrow(/duplicate key "b"/);
    expect(() => parseJsonText('[{"k": 1}, {"k": 2}]', 'f')).not.toThrow();
    expect(() => parseJsonText('{"a": {"k": 1}, "b": {"k": 2}}', 'f')).not.toThrow();
  });

  it("never let a later grant in an owner's file hide an earlier negation", () => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-dup-'));
    mkdirSync(join(dir, 'users', 'alice'), { recursive: true });
    writeFileSync(
      join(dir, 'users', 'alice', 'jupyter_config.json'),
      '{"WorkflowServer": {"user_authorization": {"eve": ["!ALL"], "eve": ["READ"]}}}',
    );
    expect(() => loadOwnerAuthorization(dir!, 'alice')).toThrow(/duplicate key "eve"/);
  });
});
