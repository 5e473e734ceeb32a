/**
 * WorkflowServer.platforms in the site file: defaults, errors that name the key, and the
 * isolation rule (Slurm submits as the account that runs the workflow server: only "system"
 * isolation makes that the owner's own).
 */
import { userInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { slurmRefusalFor } from '../../src/cli/server.js';
import { silentLogger } from '../../src/util/logger.js';
import { ConfigError, parseSiteConfig, slurmPlatformNames, type ConfigIssue } from '../../src/config/index.js';

function issues(raw: unknown): ConfigIssue[] {
  try {
    parseSiteConfig(raw, 'site.json', '/');
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
}

const system = { spawner: { isolation: 'system' } };

describe('WorkflowServer.platforms', () => {
  it('fills in a Slurm platform\'s defaults and keeps its directives as strings', () => {
    const site = parseSiteConfig({
      JupyterHub: system,
      WorkflowServer: { platforms: { hpc: { job_runner: 'slurm', directives: { '--partition': 'debug', '--nodes': 1, '--exclusive': '' } }, here: { job_runner: 'local' } } },
    }, 'site.json', '/');
    expect(site.WorkflowServer.platforms).toEqual({
      hpc: {
        job_runner: 'slurm',
        directives: { '--partition': 'debug', '--nodes': '1', '--exclusive': '' },
        commands: { sbatch: 'sbatch', squeue: 'squeue', sacct: 'sacct', scancel: 'scancel', scontrol: 'scontrol' },
        poll_interval: 5,
        submit_timeout: 30,
      },
      here: { job_runner: 'local' },
    });
    expect(slurmPlatformNames(site.WorkflowServer.platforms)).toEqual(['hpc']);
    expect(parseSiteConfig({}, null, '/').WorkflowServer.platforms).toEqual({});
  });

  it('names the key of every mistake, with a did-you-mean for a misspelt runner', () => {
    const found = issues({
      JupyterHub: system,
      WorkflowServer: {
        platforms: {
          a: { job_runner: 'slurn' },
          b: { job_runner: 'slurm', directives: { partition: 'debug' } },
          c: { job_runner: 'slurm', directives: { '--output': '/tmp/x' } },
          d: { job_runner: 'slurm', directives: ['--partition=debug'] },
          e: { job_runner: 'slurm', poll_intervall: 3 },
          f: { job_runner: 'slurm', poll_interval: 0 },
          local: { job_runner: 'local' },
          g: { job_runner: 'slurm', directives: { '--comment': 'two\nlines' } },
        },
      },
    });
    const byPath = Object.fromEntries(found.map((i) => [i.path.join('.'), i.message]));
    expect(byPath['WorkflowServer.platforms.a.job_runner']).toBe('expected "local" or "slurm", got "slurn"; did you mean "slurm"?');
    expect(byPath['WorkflowServer.platforms.b.directives.partition']).toMatch(/"partition" is not an sbatch long option such as "--partition"/);
    expect(byPath['WorkflowServer.platforms.c.directives.--output']).toBe("--output is set by Flotilla's job runner and cannot be a directive");
    expect(byPath['WorkflowServer.platforms.d.directives']).toMatch(/expected an object of sbatch options/);
    expect(byPath['WorkflowServer.platforms.e']).toMatch(/unknown key "poll_intervall"; did you mean "poll_interval"\?/);
    expect(byPath['WorkflowServer.platforms.f.poll_interval']).toMatch(/greater than 0/);
    expect(byPath['WorkflowServer.platforms.local']).toMatch(/"local" is built in/);
    expect(byPath['WorkflowServer.platforms.g.directives.--comment']).toBe('the value of --comment must be one line');
  });

  it('refuses Slurm platforms under "dynamic" and "shared" isolation, saying why', () => {
    for (const isolation of ['dynamic', 'shared']) {
      const found = issues({ JupyterHub: { spawner: { isolation } }, WorkflowServer: { platforms: { hpc: { job_runner: 'slurm' } } } });
      expect(found).toHaveLength(1);
      expect(found[0]!.path).toEqual(['WorkflowServer', 'platforms', 'hpc', 'job_runner']);
      expect(found[0]!.message).toContain('Slurm platforms need JupyterHub.spawner.isolation "system"');
      expect(found[0]!.message).toContain(`Under "${isolation}"`);
    }
    expect(issues({ JupyterHub: { spawner: { isolation: 'dynamic' } }, WorkflowServer: { platforms: { here: { job_runner: 'local' } } } })).toEqual([]);
  });

  it('lets a workflow server submit to Slurm only when it runs as its owner\'s own account', () => {
    const me = userInfo().username;
    expect(slurmRefusalFor(me, silentLogger())).toEqual({});
    const other = me === 'alice' ? 'bob' : 'alice';
    expect(slurmRefusalFor(other, silentLogger()).slurmRefusal).toBe(
      `Slurm runs a job as the account that submits it, and this workflow server runs as "${me}", not as "${other}"; ` +
        'Slurm platforms need JupyterHub.spawner.isolation "system"',
    );
  });
});
