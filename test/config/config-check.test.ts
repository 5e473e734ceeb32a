import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkConfiguration, SHARED_MODE_WARNING } from '../../src/config/index.js';
import { REPO, runFlotilla } from './run-flotilla.js';

// Runs the real command line; build dist/ first (`npx tsc -p tsconfig.build.json`, done by `npm test`).
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-check-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function writeJson(path: string, value: unknown): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, JSON.stringify(value, null, 2));
}

function writeFlow(workflowDir: string, yaml = 'tasks:\n  hello:\n    script: echo hello\n'): void {
  mkdirSync(workflowDir, { recursive: true });
  writeFileSync(join(workflowDir, 'flow.yaml'), yaml);
}

// Each process loads the whole CLI; on a busy two-core machine that takes seconds, hence the timeout.
describe('flotilla config check', { timeout: 120_000 }, () => {
  it('passes the example configuration with a one-line summary', async () => {
    copyFileSync(join(REPO, 'jupyter_config.example.json'), join(dir, 'jupyter_config.json'));
    const result = await runFlotilla(['config', 'check', '--config', join(dir, 'jupyter_config.json')]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^OK .*jupyter_config\.json: 5 users, 2 groups, 2 roles, 0 owners \(0 owner files, 0 workflows\) checked; .*htpasswd: no such file yet/);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('uses ./jupyter_config.json when there is one, else the embedded defaults', async () => {
    const defaults = await runFlotilla(['config', 'check'], { cwd: dir });
    expect(defaults.code).toBe(0);
    expect(defaults.stdout).toMatch(/^OK \(embedded defaults\): 0 users/);
    writeJson(join(dir, 'jupyter_config.json'), { JupyterHub: { bind_url: 'gopher://x' } });
    const local = await runFlotilla(['config', 'check'], { cwd: dir });
    expect(local.code).toBe(1);
    expect(local.stderr).toContain('jupyter_config.json: JupyterHub › bind_url: expected an http:// or https:// URL, got "gopher://x"');
  });

  it('warns about sharing keys that name nobody, and still passes', async () => {
    const site = join(dir, 'site.json');
    writeJson(site, {
      JupyterHub: { data_dir: 'state', authenticator: { htpasswd_file: 'htpasswd' }, load_groups: { ops: { users: ['bob'] } } },
      WorkflowServer: { site_authorization: { '*': { '*': { default: 'READ' } } } },
    });
    writeFileSync(join(dir, 'htpasswd'), 'alice:$2y$04$abcdefghijklmnopqrstuuS1Yb0e1m9n4h0Qy0i3q5b6Q9pX1n7rS\nbob:$2y$04$abcdefghijklmnopqrstuuS1Yb0e1m9n4h0Qy0i3q5b6Q9pX1n7rS\n');
    const ownerFile = join(dir, 'state', 'users', 'alice', 'jupyter_config.json');
    writeJson(ownerFile, {
      WorkflowServer: {
        user_authorization: { bob: ['READ'], 'b ob': ['READ'], 'group:ops': ['READ'], 'group:ghosts': ['READ'], '*': ['READ'] },
        workflow_authorization: { demo: { carol: ['pause'] } },
      },
    });
    const report = checkConfiguration(site, 1000);
    expect(report.issues).toEqual([]);
    expect(report.warnings.filter((w) => w.includes('user_authorization') || w.includes('workflow_authorization'))).toEqual([
      expect.stringContaining(`${ownerFile}: user_authorization › "b ob": no user can ever be called "b ob"`),
      `${ownerFile}: user_authorization › "group:ghosts": there is no group ghosts now; the rule applies if one is made later`,
      `${ownerFile}: workflow_authorization › demo › "carol": there is no user carol now; the rule applies if one is made later`,
    ]);
    const run = await runFlotilla(['config', 'check', '--config', site]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('warning: ' + ownerFile + ': user_authorization › "group:ghosts"');
  });

  it('counts as accounts only the htpasswd entries the site lets sign in, as the hub does', () => {
    const site = join(dir, 'site.json');
    writeJson(site, { JupyterHub: { data_dir: 'state', authenticator: { htpasswd_file: 'htpasswd', blocked_users: ['bob'] } } });
    writeFileSync(join(dir, 'htpasswd'), 'alice:$2y$04$abcdefghijklmnopqrstuuS1Yb0e1m9n4h0Qy0i3q5b6Q9pX1n7rS\nbob:$2y$04$abcdefghijklmnopqrstuuS1Yb0e1m9n4h0Qy0i3q5b6Q9pX1n7rS\n');
    const ownerFile = join(dir, 'state', 'users', 'alice', 'jupyter_config.json');
    writeJson(ownerFile, { WorkflowServer: { user_authorization: { alice: ['READ'], bob: ['READ'] } } });
    const report = checkConfiguration(site, 1000);
    expect(report.warnings.filter((w) => w.includes('user_authorization'))).toEqual([
      `${ownerFile}: user_authorization › "bob": there is no user bob now; the rule applies if one is made later`,
    ]);
  });

  it('checks every owner file and workflow folder name, reporting every problem', async () => {
    const site = join(dir, 'site.json');
    writeJson(site, {
      JupyterHub: { data_dir: 'state', authenticator: { admin_users: ['erin', 42] } },
      WorkflowServer: { site_authorization: { '*': { '*': { default: 'READ' } } } },
    });
    const users = join(dir, 'state', 'users');
    writeJson(join(users, 'alice', 'jupyter_config.json'), { WorkflowServer: { user_authorization: { '*': ['READ'] } } });
    writeFlow(join(users, 'alice', 'workflows', 'good-flow'));
    mkdirSync(join(users, 'alice', 'workflows', 'bad flow'), { recursive: true });
    writeJson(join(users, 'bob', 'jupyter_config.json'), { WorkflowServer: { site_authorization: {} } });
    writeJson(join(users, 'carol', 'jupyter_config.json'), { WorkflowServer: { user_authorization: { dave: ['stpo'] } } });
    mkdirSync(join(users, '.hidden'), { recursive: true });
    const result = await runFlotilla(['config', 'check', '--config', site]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines).toEqual([
      `${site}: JupyterHub › authenticator › admin_users[1]: expected a user name, got 42`,
      `${join(users, '.hidden')}: ".hidden" is not a valid owner name: names are 1 to 64 ASCII letters, digits, ".", "_", "-" or "@", starting with a letter or a digit`,
      `${join(users, 'alice', 'workflows', 'bad flow')}: "bad flow" is not a valid workflow name: names are 1 to 64 ASCII letters, digits, ".", "_", "-" or "@", starting with a letter or a digit`,
      `${join(users, 'bob', 'jupyter_config.json')}: WorkflowServer › site_authorization: only the site configuration file can carry site_authorization; an owner's file holds user_authorization and workflow_authorization alone`,
      `${join(users, 'carol', 'jupyter_config.json')}: WorkflowServer › user_authorization › dave: unknown permission "stpo"; did you mean "stop"?`,
      'config check: 5 problems found',
    ]);
  });

  it('counts owners, their files and workflows when all is well', async () => {
    const site = join(dir, 'site.json');
    writeJson(site, { JupyterHub: { data_dir: 'state', load_groups: { ops: { users: ['carol'] } } } });
    writeJson(join(dir, 'state', 'users', 'alice', 'jupyter_config.json'), { WorkflowServer: { user_authorization: { '*': ['READ'] } } });
    writeFlow(join(dir, 'state', 'users', 'alice', 'workflows', 'one'));
    writeFlow(join(dir, 'state', 'users', 'bob', 'workflows', 'two'));
    writeFileSync(join(dir, 'state', 'htpasswd'), 'alice:$2y$04$2QW4QuXErVCLJI1kLB4YnOGhSdB589LIga/rCL20wYh2EeDuwwhJq\n# comment\n');
    const result = await runFlotilla(['config', 'check', '--config', site]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      `OK ${site}: 1 user, 1 group, 0 roles, 2 owners (1 owner file, 2 workflows) checked; ${join(dir, 'state', 'htpasswd')}: 1 account\n`,
    );
  });

  it("checks every workflow's flow.yaml, naming file, line and column", () => {
    const site = join(dir, 'site.json');
    writeJson(site, { JupyterHub: { data_dir: 'state' } });
    const flows = join(dir, 'state', 'users', 'alice', 'workflows');
    writeFlow(join(flows, 'fine'));
    writeFlow(join(flows, 'broken-yaml'), 'tasks:\n  a:\n    script: [unclosed\n');
    writeFlow(join(flows, 'typo'), 'tasks:\n  hello:\n    script: echo hi\n  count:\n    script: wc\n    depends: [helo]\n');
    mkdirSync(join(flows, 'empty-folder'), { recursive: true });
    const report = checkConfiguration(site);
    expect(report.counts.workflows).toBe(4);
    const byFile = Object.fromEntries(report.issues.map((i) => [i.file, i.message]));
    expect(Object.keys(byFile).sort()).toEqual([
      expect.stringMatching(new RegExp(`^${join(flows, 'broken-yaml', 'flow.yaml')}:\\d+:\\d+$`)),
      join(flows, 'empty-folder', 'flow.yaml'),
      `${join(flows, 'typo', 'flow.yaml')}:6:15`,
    ]);
    expect(byFile[`${join(flows, 'typo', 'flow.yaml')}:6:15`]).toBe('tasks.count.depends: unknown task "helo"; did you mean "hello"?');
    const yamlIssue = report.issues.find((i) => i.file?.includes('broken-yaml'));
    // The sentence, then the parser's excerpt of the place (its line, and a caret under it).
    expect(yamlIssue?.message.split('\n')).toEqual(['Flow sequence in block collection must be sufficiently indented and end with a ]', '    script: [unclosed', '^']);
    expect(byFile[join(flows, 'empty-folder', 'flow.yaml')]).toBe('missing: every folder under workflows/ needs a flow.yaml');
  });

  it('reports a malformed htpasswd file with its line', async () => {
    const site = join(dir, 'site.json');
    writeJson(site, { JupyterHub: { authenticator: { htpasswd_file: 'users.htpasswd' } } });
    writeFileSync(join(dir, 'users.htpasswd'), 'alice:$2y$04$2QW4QuXErVCLJI1kLB4YnOGhSdB589LIga/rCL20wYh2EeDuwwhJq\nbob\n');
    const result = await runFlotilla(['config', 'check', '--config', site]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${join(dir, 'users.htpasswd')}: line 2: expected "user:hash"`);
  });

  it('reports a truncated bcrypt hash with its line, as an error', async () => {
    const site = join(dir, 'site.json');
    writeJson(site, { JupyterHub: { authenticator: { htpasswd_file: 'users.htpasswd' } } });
    writeFileSync(join(dir, 'users.htpasswd'), 'alice:$2y$04$2QW4QuXErVCLJI1kLB4YnOGhSdB589LIga/rCL20wYh2EeDuwwhJq\nbob:$2y$04$2QW4QuXErVCLJI1kLB4YnO\n');
    const result = await runFlotilla(['config', 'check', '--config', site]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `${join(dir, 'users.htpasswd')}: line 2: user "bob" has an incomplete bcrypt hash (29 characters instead of 60: truncated?); set the password again with bin/flotilla passwd add\n` +
        'config check: 1 problem found\n',
    );
  });

  it('reports malformed JSON with line and column, and refuses unknown flags', async () => {
    const site = join(dir, 'site.json');
    writeFileSync(site, '{\n  "JupyterHub": {\n    "data_dir": "d",\n  }\n}\n');
    const result = await runFlotilla(['config', 'check', '--config', site]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${site}: malformed JSON at line 4, column 3: unexpected character "}"; expected a key in double quotes`);
    const flag = await runFlotilla(['config', 'check', '--confg', site]);
    expect(flag.code).not.toBe(0);
    expect(flag.stderr).toContain("unknown option '--confg'");
    const help = await runFlotilla(['config', 'check', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--config <file>');
  });
});

describe('config check on the isolation a hub would run', () => {
  const site = (name: string, spawner: object) => {
    const file = join(dir, `${name}.json`);
    writeJson(file, { JupyterHub: { spawner } });
    return file;
  };

  it('warns, without failing, about shared isolation, a start that would be refused, and run_as_owner', () => {
    const shared = site('shared', { isolation: 'shared' });
    expect(checkConfiguration(shared, 1000).warnings).toEqual([`for a hub started as uid 1000, ${SHARED_MODE_WARNING}`]);
    expect(checkConfiguration(shared, 1000).issues).toEqual([]);
    expect(checkConfiguration(shared, 0).warnings).toEqual([
      expect.stringMatching(/^for a hub started as uid 0, the start would be refused: JupyterHub\.spawner\.isolation is "shared", but the hub runs as root/),
    ]);
    expect(checkConfiguration(site('legacy', { run_as_owner: true }), 0).warnings).toEqual([
      'JupyterHub.spawner.run_as_owner is the old spelling of JupyterHub.spawner.isolation "system"; replace "run_as_owner": true with "isolation": "system"',
    ]);
    // As root with nothing set: dynamic, nothing to say.
    expect(checkConfiguration(site('plain', {}), 0).warnings).toEqual([]);
  });
});
