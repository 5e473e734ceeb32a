/** workflow_authorization in an owner's file: validated like user_authorization, saved beside it. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkConfiguration, loadOwnerSharing, ownerConfigPath, saveOwnerAuthorization } from '../../src/config/index.js';

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'flotilla-owner-wf-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

function writeOwner(content: unknown): string {
  const file = ownerConfigPath(dataDir, 'alice');
  mkdirSync(join(dataDir, 'users', 'alice'), { recursive: true });
  writeFileSync(file, JSON.stringify(content));
  return file;
}

const messagesOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    return (err as Error).message.split('\n');
  }
  return [];
};

describe('workflow_authorization in the owner file', () => {
  it('loads it beside user_authorization; a section for a workflow that does not exist is valid', () => {
    writeOwner({ WorkflowServer: { user_authorization: { '*': 'READ' }, workflow_authorization: { 'not-made-yet': { bob: ['CONTROL'] } } } });
    const sharing = loadOwnerSharing(dataDir, 'alice');
    expect(sharing.user_authorization?.toJSON()).toEqual({ '*': ['read'] });
    expect(sharing.workflow_authorization?.toJSON()).toEqual({ 'not-made-yet': { bob: ['CONTROL'] } });
  });

  it('names the file and the key path, suggests permission names, and refuses globs and bad names', () => {
    const file = writeOwner({
      WorkflowServer: { workflow_authorization: { 'genome-run': { bob: ['stpo'], carol: [] }, 'run-*': { '*': 'READ' }, 'a/b': { '*': 'READ' } } },
    });
    const lines = messagesOf(() => loadOwnerSharing(dataDir, 'alice'));
    expect(lines).toContain(`${file}: WorkflowServer › workflow_authorization › genome-run › bob: unknown permission "stpo"; did you mean "stop"?`);
    expect(lines.some((l) => l.startsWith(`${file}: WorkflowServer › workflow_authorization › genome-run › carol: empty list`))).toBe(true);
    expect(lines.some((l) => l.includes('workflow_authorization › run-*') && l.includes('not globs'))).toBe(true);
    expect(lines.some((l) => l.includes('workflow_authorization › a/b') && l.includes('not a workflow name'))).toBe(true);
  });

  it('is checked by config check like the rest of the owner file', () => {
    const siteFile = join(dataDir, 'site.json');
    writeFileSync(siteFile, JSON.stringify({ JupyterHub: { data_dir: dataDir } }));
    writeOwner({ WorkflowServer: { workflow_authorization: { w: { bob: 'reed' } } } });
    const report = checkConfiguration(siteFile);
    expect(report.issues.map((i) => i.message)).toContainEqual(expect.stringContaining('unknown permission "reed"; did you mean "read"?'));
  });

  it('saves both keys atomically, validated first, and writes nothing invalid', () => {
    saveOwnerAuthorization(dataDir, 'alice', { '*': ['READ'] }, { w: { bob: ['hold'] } });
    const file = ownerConfigPath(dataDir, 'alice');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      WorkflowServer: { user_authorization: { '*': ['READ'] }, workflow_authorization: { w: { bob: ['hold'] } } },
    });
    const before = readFileSync(file);
    expect(messagesOf(() => saveOwnerAuthorization(dataDir, 'alice', { '*': ['READ'] }, { 'w*': { bob: ['hold'] } }))[0]).toMatch(/not globs/);
    expect(readFileSync(file).equals(before)).toBe(true);
  });
});
