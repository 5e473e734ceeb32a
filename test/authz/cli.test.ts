import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTROL_OPERATIONS } from '../../src/authz/index.js';
import { GroupStore } from '../../src/hub/groups/group-store.js';
import { openHubDatabase } from '../../src/hub/db.js';
import { WORKED_SITE, controlExcept, withRead } from './fixtures.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'flotilla');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs bin/flotilla as a real process, feeding `input` on stdin. */
function flotilla(args: string[], input = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    // The child may exit before reading everything (exit 2 on a bad line); that is not our error.
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

function jsonLines(text: string): unknown[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

describe('flotilla authz eval', () => {
  it('answers one line per input line, in order, skipping blank lines', async () => {
    const lines = [
      { site_authorization: WORKED_SITE, owner: 'alice', user: 'carol' },
      { site_authorization: WORKED_SITE, owner: 'alice', user: 'user1' },
      {
        site_authorization: WORKED_SITE,
        user_authorization: { 'group:groupB': ['READ', 'CONTROL'] },
        owner: 'olga',
        owner_groups: ['owners'],
        user: 'gus',
        user_groups: ['groupB'],
      },
      { site_authorization: WORKED_SITE, owner: 'server_owner_2', user: 'ann', user_groups: ['groupA'] },
      { user_authorization: { bob: 'ALL' }, owner: 'alice', user: 'bob' },
      { owner: 'alice', user: 'alice' },
    ];
    const input = lines.map((l) => JSON.stringify(l)).join('\n\n   \n') + '\n';
    const run = await flotilla(['authz', 'eval'], input);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = jsonLines(run.stdout) as { permitted: string[] }[];
    expect(out).toHaveLength(6);
    expect(out[0]).toEqual({ permitted: ['read'] });
    expect(out[1]).toEqual({ permitted: [] });
    expect(out[2]).toEqual({ permitted: withRead(controlExcept('stop', 'kill')) });
    expect(out[3]).toEqual({ permitted: withRead(CONTROL_OPERATIONS) });
    expect(out[4]).toEqual({ permitted: [] });
    expect(out[5]!.permitted).toHaveLength(21);
  });

  it('reports an invalid configuration on its own line and goes on', async () => {
    const input = [
      { site_authorization: { 'group:owners': { 'group:ops': { limit: ['!stpo'] } } }, owner: 'a', user: 'b' },
      { site_authorization: { '*': { '*': { default: 'READ' } } }, user_authorization: { b: [] }, owner: 'a', user: 'b' },
      { site_authorization: { '*': { '*': { default: 'READ' } } }, owner: 'a', user: 'b' },
      { site_authorization: { '*': { '*': { default: 'READ' } } }, owner: 'a' },
    ]
      .map((l) => JSON.stringify(l))
      .join('\n');
    const run = await flotilla(['authz', 'eval'], input);
    expect(run.code).toBe(0);
    expect(jsonLines(run.stdout)).toEqual([
      { error: 'site_authorization › group:owners › group:ops › limit: unknown permission "!stpo"; did you mean "!stop"?' },
      { error: 'user_authorization › b: empty list: name the permissions, or write ["!ALL"] for none' },
      { permitted: ['read'] },
      { error: 'user: expected a non-empty string, got nothing' },
    ]);
  });

  it('exits 2 with a clear message when a line is not a JSON object, after answering the lines before it', async () => {
    const good = JSON.stringify({ owner: 'a', user: 'a' });
    for (const bad of ['not json', '[1, 2]', '"text"']) {
      const run = await flotilla(['authz', 'eval'], `${good}\n${bad}\n${good}\n`);
      expect(run.code).toBe(2);
      expect(jsonLines(run.stdout)).toHaveLength(1);
      expect(run.stderr).toMatch(/stdin must be JSON lines.*line 2 is not (JSON|a JSON object)/);
    }
  });

  it('streams a large input, keeping order', async () => {
    const count = 20_000;
    const site = { '*': { '*': { limit: 'ALL' } } };
    const lines: string[] = [];
    for (let i = 0; i < count; i++) {
      // Every third user is named in the owner's file and gets pause; the others get nothing.
      lines.push(JSON.stringify({ site_authorization: site, user_authorization: { [`u${i - (i % 3)}`]: 'pause' }, owner: 'o', user: `u${i}` }));
    }
    const run = await flotilla(['authz', 'eval'], lines.join('\n') + '\n');
    expect(run.code).toBe(0);
    const out = jsonLines(run.stdout) as { permitted: string[] }[];
    expect(out).toHaveLength(count);
    out.forEach((line, i) => expect(line.permitted).toEqual(i % 3 === 0 ? ['pause'] : []));
  });

  it('has --help and refuses unknown flags', async () => {
    const help = await flotilla(['authz', 'eval', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: flotilla authz eval');
    const bad = await flotilla(['authz', 'eval', '--fast']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("unknown option '--fast'");
  });

  it('authz --help lists both subcommands', async () => {
    const help = await flotilla(['authz', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/eval/);
    expect(help.stdout).toMatch(/explain/);
  });
});

describe('flotilla authz explain', () => {
  let dir: string;
  let siteFile: string;

  function writeSite(siteAuthorization: unknown): void {
    writeFileSync(
      siteFile,
      JSON.stringify({
        JupyterHub: {
          data_dir: 'data',
          load_groups: { owners: { users: ['olga'] }, groupB: { users: ['gus'] }, groupA: { users: ['ann'] } },
        },
        WorkflowServer: { site_authorization: siteAuthorization },
      }),
    );
  }

  /**
   * Runs `check` after writing run-time groups to the hub's database as an admin's changes write
   * them, then leaves the site as if its hub never ran, for the next test.
   */
  async function withRunTimeGroups(write: (store: GroupStore) => void, check: () => Promise<void>): Promise<void> {
    const db = openHubDatabase(join(dir, 'data'));
    try {
      write(new GroupStore(db));
    } finally {
      db.close();
    }
    try {
      await check();
    } finally {
      for (const file of ['hub.sqlite', 'hub.sqlite-wal', 'hub.sqlite-shm', 'hub-state.marker']) rmSync(join(dir, 'data', file), { force: true });
    }
  }

  function writeOwner(owner: string, content: unknown): void {
    mkdirSync(join(dir, 'data', 'users', owner), { recursive: true });
    writeFileSync(join(dir, 'data', 'users', owner, 'jupyter_config.json'), JSON.stringify(content));
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-authz-cli-'));
    siteFile = join(dir, 'jupyter_config.json');
    writeSite(WORKED_SITE);
    writeOwner('olga', { WorkflowServer: { user_authorization: { 'group:groupB': ['READ', 'CONTROL'] } } });
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the steps on the real files, with groups from load_groups', async () => {
    const run = await flotilla(['authz', 'explain', '--config', siteFile, '--owner', 'olga', '--user', 'gus']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Owner olga (groups: owners), access user gus (groups: groupB)');
    expect(run.stdout).toContain('group:owners › group:groupB: default read; limit read, CONTROL, !stop, !kill');
    expect(run.stdout).toContain('3. Grants from user_authorization, keys group:groupB:');
    expect(run.stdout).toContain(`4. Permitted = limits ∩ grants: ${withRead(controlExcept('stop', 'kill')).join(', ')}`);
  });

  it('--json prints the explanation object', async () => {
    const run = await flotilla(['authz', 'explain', '--config', siteFile, '--owner', 'server_owner_2', '--user', 'ann', '--json']);
    expect(run.code).toBe(0);
    const e = JSON.parse(run.stdout);
    expect(e.userGroups).toEqual(['groupA']);
    expect(e.grants.source).toBe('defaults');
    expect(e.result).toEqual(withRead(CONTROL_OPERATIONS));
  });

  it('--groups-of adds groups (repeatable)', async () => {
    const without = await flotilla(['authz', 'explain', '--config', siteFile, '--owner', 'alice', '--user', 'dan', '--json']);
    expect(without.stderr).toBe('');
    expect(JSON.parse(without.stdout).result).toEqual(['read']);
    const run = await flotilla([
      'authz', 'explain', '--config', siteFile, '--owner', 'alice', '--user', 'dan', '--json',
      '--groups-of', 'alice=owners', '--groups-of', 'dan=groupB,other',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const e = JSON.parse(run.stdout);
    expect(e.ownerGroups).toEqual(['owners']);
    expect(e.userGroups).toEqual(['groupB', 'other']);
    expect(e.limits.negated).toEqual(['kill', 'stop']);
  });

  it('decides with the groups the hub manages at run time and says where each group came from', async () => {
    const before = JSON.parse((await flotilla(['authz', 'explain', '--config', siteFile, '--owner', 'olga', '--user', 'carol', '--json'])).stdout);
    expect(before.userGroups).toEqual([]);
    const htpasswd = join(dir, 'data', 'htpasswd');
    expect(before.notes).toEqual([
      `olga has no account (not in ${htpasswd}): the answer is for when they get one`,
      `carol has no account (not in ${htpasswd}): the answer is for when they get one`,
    ]);
    // An admin puts carol in groupB on the admin page: the hub writes it to hub.sqlite.
    const write = (store: GroupStore) => {
      store.addMembers('groupB', ['carol']);
      store.create([{ name: 'night-shift', users: ['carol'] }]);
    };
    await withRunTimeGroups(write, async () => {
      const run = await flotilla(['authz', 'explain', '--config', siteFile, '--owner', 'olga', '--user', 'carol', '--json']);
      expect(run.stderr).toBe('');
      const e = JSON.parse(run.stdout);
      expect(e.userGroups).toEqual(['groupB', 'night-shift']);
      expect(e.groupOrigins).toEqual({ olga: { owners: ['site file'] }, carol: { groupB: ['hub database'], 'night-shift': ['hub database'] } });
      // The same answer as for gus, whom the site file puts in groupB.
      const gus = JSON.parse((await flotilla(['authz', 'explain', '--config', siteFile, '--owner', 'olga', '--user', 'gus', '--json'])).stdout);
      expect(e.result).toEqual(gus.result);
      expect(e.result).not.toEqual(before.result);
      const text = await flotilla(['authz', 'explain', '--config', siteFile, '--owner', 'olga', '--user', 'gus', '--groups-of', 'gus=groupB']);
      expect(text.stdout).toContain('Groups of gus: groupB (site file, command line)');
      expect(text.stdout).toContain('Groups of olga: owners (site file)');
    });
  });

  it('takes groups named constructor or toString like any other, from the site file and the hub database', async () => {
    const site = join(dir, 'constructor.json');
    writeFileSync(site, JSON.stringify({ JupyterHub: { data_dir: 'data', load_groups: { constructor: { users: ['gus'] } } }, WorkflowServer: { site_authorization: WORKED_SITE } }));
    const write = (store: GroupStore) => {
      store.addMembers('constructor', ['carol']);
      store.create([{ name: 'toString', users: ['gus'] }]);
    };
    await withRunTimeGroups(write, async () => {
      const run = await flotilla(['authz', 'explain', '--config', site, '--owner', 'carol', '--user', 'gus', '--json']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const e = JSON.parse(run.stdout);
      expect(e.ownerGroups).toEqual(['constructor']);
      expect(e.userGroups).toEqual(['constructor', 'toString']);
      expect(e.groupOrigins).toEqual({ carol: { constructor: ['hub database'] }, gus: { constructor: ['site file'], toString: ['hub database'] } });
      const text = await flotilla(['authz', 'explain', '--config', site, '--owner', 'carol', '--user', 'gus', '--groups-of', 'gus=constructor']);
      expect(text.stdout).toContain('Groups of gus: constructor (site file, command line), toString (hub database)');
    });
  });

  it("with system_groups on, the operating system's groups count and are named as such", async () => {
    const systemSite = join(dir, 'system.json');
    writeFileSync(systemSite, JSON.stringify({ JupyterHub: { data_dir: 'data' }, WorkflowServer: { system_groups: true, site_authorization: WORKED_SITE } }));
    const run = await flotilla(['authz', 'explain', '--config', systemSite, '--owner', 'olga', '--user', 'root']);
    expect(run.stderr).toBe('');
    // `id -Gn root` names root's own group on every Linux.
    expect(run.stdout).toMatch(/^Groups of root: .*\broot \(operating system\)/m);
  });

  it('a bad --groups-of value is an error', async () => {
    const run = await flotilla(['authz', 'explain', '--config', siteFile, '--owner', 'olga', '--user', 'gus', '--groups-of', 'groupB']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('--groups-of "groupB": expected USER=group1,group2');
  });

  it('an invalid site file: message naming file and key path on stderr, exit 1', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ WorkflowServer: { site_authorization: { 'group:owners': { 'group:ops': { limit: ['!stpo'] } } } } }));
    const run = await flotilla(['authz', 'explain', '--config', bad, '--owner', 'olga', '--user', 'gus']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(bad);
    expect(run.stderr).toContain('site_authorization › group:owners › group:ops › limit: unknown permission "!stpo"; did you mean "!stop"?');
  });

  it('an owner file carrying site_authorization is refused, exit 1', async () => {
    writeOwner('mallory', { WorkflowServer: { site_authorization: { '*': { '*': { limit: 'ALL' } } } } });
    const run = await flotilla(['authz', 'explain', '--config', siteFile, '--owner', 'mallory', '--user', 'gus']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(join('users', 'mallory', 'jupyter_config.json'));
    expect(run.stderr).toContain('site_authorization');
  });

  it('requires --config, --owner and --user, has --help, refuses unknown flags', async () => {
    const missing = await flotilla(['authz', 'explain', '--config', siteFile, '--owner', 'olga']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("required option '--user <name>' not specified");
    const help = await flotilla(['authz', 'explain', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--groups-of');
    const bad = await flotilla(['authz', 'explain', '--config', siteFile, '--owner', 'olga', '--user', 'gus', '--verbose']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("unknown option '--verbose'");
  });
});

describe('flotilla authz with workflow_authorization', () => {
  const SITE = { '*': { '*': { default: 'READ', limit: ['READ', 'CONTROL'] } } };
  const WA = { 'genome-run': { 'group:lab': ['READ', 'CONTROL'] }, payroll: { '*': ['!READ'] } };

  it('eval answers for the workflow named in a line, and the server-wide rule without one', async () => {
    const base = { site_authorization: SITE, user_authorization: { '*': ['READ'] }, workflow_authorization: WA, owner: 'olga', user: 'lena', user_groups: ['lab'] };
    const lines = [
      { ...base, workflow: 'genome-run' },
      { ...base, workflow: 'payroll' },
      { ...base, workflow: 'other' },
      base,
      { ...base, workflow: 'genome-*' },
      { ...base, workflow_authorization: { w: { bob: ['stpo'] } } },
    ];
    const run = await flotilla(['authz', 'eval'], lines.map((l) => JSON.stringify(l)).join('\n'));
    expect(run.code).toBe(0);
    const out = jsonLines(run.stdout) as { permitted?: string[]; error?: string }[];
    expect(out[0]).toEqual({ permitted: withRead(CONTROL_OPERATIONS) });
    expect(out[1]).toEqual({ permitted: [] });
    expect(out[2]).toEqual({ permitted: ['read'] });
    expect(out[3]).toEqual({ permitted: ['read'] });
    expect(out[4]!.error).toMatch(/^workflow: expected a workflow name/);
    expect(out[5]!.error).toBe('workflow_authorization › w › bob: unknown permission "stpo"; did you mean "stop"?');
  });

  it('explain --workflow shows the section each grant came from', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-authz-cli-wf-'));
    try {
      const siteFile = join(dir, 'jupyter_config.json');
      writeFileSync(siteFile, JSON.stringify({ JupyterHub: { data_dir: 'data', load_groups: { lab: { users: ['lena'] } } }, WorkflowServer: { site_authorization: SITE } }));
      mkdirSync(join(dir, 'data', 'users', 'olga'), { recursive: true });
      writeFileSync(
        join(dir, 'data', 'users', 'olga', 'jupyter_config.json'),
        JSON.stringify({ WorkflowServer: { user_authorization: { '*': ['READ'] }, workflow_authorization: WA } }),
      );
      const run = await flotilla(['authz', 'explain', '--config', siteFile, '--owner', 'olga', '--user', 'lena', '--workflow', 'genome-run']);
      expect(run.stderr).toBe('');
      expect(run.stdout).toContain('Workflow genome-run: workflow_authorization has a section for it');
      expect(run.stdout).toContain('workflow_authorization.genome-run › group:lab: read, CONTROL');
      expect(run.stdout).toContain('user_authorization › *: read');
      const json = await flotilla(['authz', 'explain', '--config', siteFile, '--owner', 'olga', '--user', 'lena', '--workflow', 'payroll', '--json']);
      expect(JSON.parse(json.stdout)).toMatchObject({ workflow: 'payroll', result: [] });
      const bad = await flotilla(['authz', 'explain', '--config', siteFile, '--owner', 'olga', '--user', 'lena', '--workflow', '../x']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('not a workflow name');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
