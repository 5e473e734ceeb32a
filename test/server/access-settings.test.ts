/**
 * A settings push whose other settings (limits, job width) cannot be followed is still a valid
 * site: its authorization applies, and nobody is shut out for a reason that is not about access.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AccessControl } from '../../src/server/access.js';
import { silentLogger } from '../../src/util/logger.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('pushed site settings', () => {
  it('apply their authorization even when what follows the other settings fails', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'flotilla-access-'));
    dirs.push(dataDir);
    const access = new AccessControl({ owner: 'alice', dataDir, site: { workflowServer: {} }, logger: silentLogger() });
    access.setMembership({}, ['alice', 'bob']);
    access.followSettings(() => {
      throw new Error('the engine refused the job width');
    });
    access.setSite({ workflowServer: { site_authorization: { '*': { '*': { default: 'READ' } } } } });
    expect(access.siteInvalid).toBe(false);
    expect(access.permitted('bob').has('read')).toBe(true);
    // A site that does not parse still shuts everyone out.
    access.setSite({ error: 'the site file is broken' });
    expect(access.siteInvalid).toBe(true);
    expect(access.permitted('bob').size).toBe(0);
  });
});
