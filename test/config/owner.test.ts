import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseUserAuthorization, UserAuthorization } from '../../src/authz/index.js';
import {
  ConfigError,
  InvalidNameError,
  loadOwnerAuthorization,
  ownerConfigPath,
  ownerDir,
  saveOwnerAuthorization,
  workflowsDir,
} from '../../src/config/index.js';

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'flotilla-owner-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

function writeOwnerFile(owner: string, content: string): string {
  const file = ownerConfigPath(dataDir, owner);
  mkdirSync(join(dataDir, 'users', owner), { recursive: true });
  writeFileSync(file, content);
  return file;
}

describe('owner paths', () => {
  it('puts everything of an owner under <data_dir>/users/<owner>/', () => {
    expect(ownerDir(dataDir, 'alice')).toBe(join(dataDir, 'users', 'alice'));
    expect(ownerConfigPath(dataDir, 'alice')).toBe(join(dataDir, 'users', 'alice', 'jupyter_config.json'));
    expect(workflowsDir(dataDir, 'alice')).toBe(join(dataDir, 'users', 'alice', 'workflows'));
    expect(ownerDir('relative/data', 'bob')).toBe(join(process.cwd(), 'relative', 'data', 'users', 'bob'));
  });

  it.each(['..', '.', '../alice', 'a/b', '', '%2e%2e', 'bob\u0000'])('refuses the owner name %j before touching any path', (owner) => {
    expect(() => ownerDir(dataDir, owner)).toThrow(InvalidNameError);
    expect(() => ownerConfigPath(dataDir, owner)).toThrow(/invalid owner name/);
    expect(() => workflowsDir(dataDir, owner)).toThrow(InvalidNameError);
    expect(() => loadOwnerAuthorization(dataDir, owner)).toThrow(InvalidNameError);
    expect(() => saveOwnerAuthorization(dataDir, owner, { '*': ['READ'] })).toThrow(InvalidNameError);
  });
});

describe('loading an owner file', () => {
  it('gives undefined when the owner has no file, or wrote no user_authorization', () => {
    expect(loadOwnerAuthorization(dataDir, 'alice')).toBeUndefined();
    writeOwnerFile('alice', '{}');
    expect(loadOwnerAuthorization(dataDir, 'alice')).toBeUndefined();
    writeOwnerFile('alice', '{"WorkflowServer": {}}');
    expect(loadOwnerAuthorization(dataDir, 'alice')).toBeUndefined();
  });

  it('validates and normalises user_authorization through authz', () => {
    writeOwnerFile('alice', JSON.stringify({ WorkflowServer: { user_authorization: { '*': 'READ', bob: ['read', 'Pause', '!play'] } } }));
    const ua = loadOwnerAuthorization(dataDir, 'alice');
    expect(ua).toBeInstanceOf(UserAuthorization);
    expect(ua?.toJSON()).toEqual(parseUserAuthorization({ '*': 'READ', bob: ['read', 'Pause', '!play'] }).toJSON());
  });

  it('refuses site_authorization in an owner file, saying only the site file can carry it', () => {
    const file = writeOwnerFile('alice', JSON.stringify({ WorkflowServer: { site_authorization: { '*': { '*': { default: 'ALL' } } } } }));
    expect(() => loadOwnerAuthorization(dataDir, 'alice')).toThrow(
      `${file}: WorkflowServer › site_authorization: only the site configuration file can carry site_authorization; an owner's file holds user_authorization and workflow_authorization alone`,
    );
  });

  it('refuses hub settings and unknown keys in an owner file', () => {
    const file = writeOwnerFile('alice', JSON.stringify({ JupyterHub: {}, WorkflowServer: { user_authorisation: {} } }));
    let error: unknown;
    try {
      loadOwnerAuthorization(dataDir, 'alice');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message.split('\n')).toEqual([
      `${file}: JupyterHub: hub settings belong in the site configuration file, not in an owner's file`,
      `${file}: WorkflowServer: unknown key "user_authorisation"; did you mean "user_authorization"?`,
    ]);
  });

  it('folds authz issues in, naming the file and the key path', () => {
    const file = writeOwnerFile('alice', JSON.stringify({ WorkflowServer: { user_authorization: { bob: ['!stpo'], carol: [] } } }));
    let message = '';
    try {
      loadOwnerAuthorization(dataDir, 'alice');
    } catch (err) {
      message = (err as Error).message;
    }
    const lines = message.split('\n');
    expect(lines[0]).toBe(`${file}: WorkflowServer › user_authorization › bob: unknown permission "!stpo"; did you mean "!stop"?`);
    expect(lines[1]).toMatch(new RegExp(`^${file.replace(/[.]/g, '\\.')}: WorkflowServer › user_authorization › carol: .*empty`));
  });

  it('reports malformed JSON with the file, line and column', () => {
    const file = writeOwnerFile('alice', '{\n  "WorkflowServer": {\n    "user_authorization": {"*": ["READ"],}\n  }\n}');
    expect(() => loadOwnerAuthorization(dataDir, 'alice')).toThrow(`${file}: malformed JSON at line 3, column 42`);
  });
});

describe('saving an owner file', () => {
  it('writes exactly the WorkflowServer.user_authorization document, mode 0600, and reads back the same', () => {
    saveOwnerAuthorization(dataDir, 'alice', { '*': ['READ'], 'group:ops': ['CONTROL'], eve: ['!ALL'] });
    const file = ownerConfigPath(dataDir, 'alice');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      WorkflowServer: { user_authorization: { '*': ['READ'], 'group:ops': ['CONTROL'], eve: ['!ALL'] } },
    });
    expect(readFileSync(file, 'utf8')).toMatch(/^\{\n {2}"WorkflowServer": \{\n/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadOwnerAuthorization(dataDir, 'alice')?.toJSON()).toEqual(parseUserAuthorization({ '*': ['READ'], 'group:ops': ['CONTROL'], eve: ['!ALL'] }).toJSON());
  });

  it('accepts a normalised UserAuthorization and round-trips it', () => {
    const ua = parseUserAuthorization({ bob: ['read', 'ExtTrigger'] });
    saveOwnerAuthorization(dataDir, 'alice', ua);
    expect(loadOwnerAuthorization(dataDir, 'alice')?.toJSON()).toEqual(ua.toJSON());
  });

  it('writes a file that shares nothing for undefined', () => {
    saveOwnerAuthorization(dataDir, 'alice', { '*': ['READ'] });
    saveOwnerAuthorization(dataDir, 'alice', undefined);
    expect(JSON.parse(readFileSync(ownerConfigPath(dataDir, 'alice'), 'utf8'))).toEqual({ WorkflowServer: {} });
    expect(loadOwnerAuthorization(dataDir, 'alice')).toBeUndefined();
  });

  it('refuses an invalid value and leaves the old file as it was, with no temporary files left', () => {
    saveOwnerAuthorization(dataDir, 'alice', { '*': ['READ'] });
    const file = ownerConfigPath(dataDir, 'alice');
    const before = readFileSync(file, 'utf8');
    expect(() => saveOwnerAuthorization(dataDir, 'alice', { bob: ['stpo'] })).toThrow(
      `${file}: WorkflowServer › user_authorization › bob: unknown permission "stpo"; did you mean "stop"?`,
    );
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(readdirSync(join(dataDir, 'users', 'alice'))).toEqual(['jupyter_config.json']);
  });
});
