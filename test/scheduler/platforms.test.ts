/**
 * `platform:` and `directives:` in flow.yaml (on a task and in `defaults:`) and in broadcasts.
 * No cluster is needed: nothing here submits to Slurm (slurm.test.ts does).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PlatformConfig } from '../../src/config/index.js';
import { parseFlow } from '../../src/scheduler/index.js';
import { Sandbox, task, waitFor } from './helpers.js';

const PLATFORMS: Record<string, PlatformConfig> = {
  hpc: {
    job_runner: 'slurm',
    directives: { '--partition': 'debug', '--time': '01:00:00' },
    commands: { sbatch: 'sbatch', squeue: 'squeue', sacct: 'sacct', scancel: 'scancel', scontrol: 'scontrol' },
    poll_interval: 5,
    submit_timeout: 30,
  },
  workstation: { job_runner: 'local' },
};
const NAMES = ['local', 'hpc', 'workstation'];

function flowError(src: string): string {
  const r = parseFlow(src, 'flow.yaml', NAMES);
  if (r.ok) throw new Error('expected an error');
  return `${r.error.line}:${r.error.column} ${r.error.message}`;
}

describe('platform and directives in flow.yaml', () => {
  it('merges a task\'s directives over the defaults\', and takes the default platform unless the task names one', () => {
    const r = parseFlow([
      'defaults:',
      '  platform: hpc',
      '  directives: { "--time": "00:10:00", "--mem": 1G }',
      'tasks:',
      '  a: { script: "true", directives: { "--mem": 4G, "--exclusive": "" } }',
      '  b: { script: "true", platform: local }',
      '  c: { script: "true", platform: workstation }',
    ].join('\n'), 'flow.yaml', NAMES);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.flow.tasks.get('a')).toMatchObject({ platform: 'hpc', directives: { '--time': '00:10:00', '--mem': '4G', '--exclusive': '' } });
    expect(r.flow.tasks.get('b')?.platform).toBeUndefined();
    expect(r.flow.tasks.get('c')?.platform).toBe('workstation');
  });

  it('refuses an unknown platform with a did-you-mean, and bad directives, at their line', () => {
    expect(flowError('tasks:\n  a: { script: "true", platform: hcp }\n')).toBe(
      '2:34 tasks.a.platform: no platform "hcp" on this site; did you mean "hpc"?; the site has local, hpc, workstation',
    );
    expect(flowError('defaults:\n  platform: nowhere\ntasks:\n  a: { script: "true" }\n')).toMatch(/^2:13 defaults.platform: no platform "nowhere" on this site; the site has/);
    expect(flowError('tasks:\n  a: { script: "true", directives: { partition: debug } }\n')).toMatch(/^2:38 tasks.a.directives: "partition" is not an sbatch long option/);
    expect(flowError('tasks:\n  a: { script: "true", directives: { "--error": x } }\n')).toMatch(/tasks.a.directives: --error is set by Flotilla's job runner/);
    expect(flowError('tasks:\n  a: { script: "true", directives: [--mem=1G] }\n')).toMatch(/tasks.a.directives: must be a mapping of sbatch options/);
    expect(flowError('defaults:\n  retries: 2\ntasks:\n  a: { script: "true" }\n')).toMatch(/defaults.retries: unknown key; expected one of platform, directives/);
  });
});

describe('platform and directives in broadcasts', () => {
  let box: Sandbox;
  beforeEach(() => {
    box = new Sandbox();
  });
  afterEach(async () => {
    await box.cleanup();
  });

  it('moves tasks to another platform and adds directives for all of them (ALL), and refuses an unknown platform', async () => {
    box.writeFlow('w', 'tasks:\n  a: { script: "true", xtrigger: never }\n  b: { script: "true", xtrigger: never, platform: hpc, directives: { "--mem": 1G } }\n');
    const engine = await box.engine({ platforms: PLATFORMS });
    const [played] = await engine.command('play', { workflows: ['w'], by: 'alice' });
    expect(played).toMatchObject({ ok: true });
    await waitFor('the tasks to be there', () => task(engine, 'w', '1/a') && task(engine, 'w', '1/b'));
    expect(task(engine, 'w', '1/a')).not.toHaveProperty('platform');
    expect(task(engine, 'w', '1/b')).toMatchObject({ platform: 'hpc', directives: { '--partition': 'debug', '--time': '01:00:00', '--mem': '1G' } });

    const [set] = await engine.command('broadcast', { workflows: ['w'], by: 'alice', args: { mode: 'set', settings: { platform: 'hpc', directives: { '--time': '00:05:00' } } } });
    expect(set).toMatchObject({ ok: true });
    expect(task(engine, 'w', '1/a')).toMatchObject({ platform: 'hpc', directives: { '--partition': 'debug', '--time': '00:05:00' } });
    expect(task(engine, 'w', '1/b')).toMatchObject({ platform: 'hpc', directives: { '--partition': 'debug', '--time': '00:05:00', '--mem': '1G' } });
    expect(engine.getWorkflow('w')?.broadcasts[0]?.settings).toEqual({ env: {}, platform: 'hpc', directives: { '--time': '00:05:00' } });

    const [typo] = await engine.command('broadcast', { workflows: ['w'], by: 'alice', args: { mode: 'set', settings: { platform: 'hcp' } } });
    expect(typo).toMatchObject({ ok: false });
    expect(typo!.message).toBe('broadcast: args.settings.platform: no platform "hcp" on this site; did you mean "hpc"?; the site has local, hpc, workstation');
    const [bad] = await engine.command('broadcast', { workflows: ['w'], by: 'alice', args: { mode: 'set', settings: { directives: { '--output': 'x' } } } });
    expect(bad!.message).toMatch(/args.settings.directives: --output is set by Flotilla's job runner/);

    // Cleared, the tasks go back to their own platforms; a restart keeps whatever is set.
    const [clearPlatform] = await engine.command('broadcast', { workflows: ['w'], by: 'alice', args: { mode: 'clear', settings: { platform: '' } } });
    expect(clearPlatform).toMatchObject({ ok: true });
    expect(task(engine, 'w', '1/a')).not.toHaveProperty('platform');
    await engine.close();
    const again = await box.engine({ platforms: PLATFORMS });
    await waitFor('the tasks to be there', () => task(again, 'w', '1/b'));
    expect(task(again, 'w', '1/b')).toMatchObject({ platform: 'hpc', directives: { '--partition': 'debug', '--time': '00:05:00', '--mem': '1G' } });
  });

  it('refuses every Slurm job, saying why, when the server may not submit as its owner; local tasks still run', async () => {
    box.writeFlow('r', 'tasks:\n  s: { script: "true", platform: hpc, retries: 1 }\n  l: { script: "true" }\n');
    const refusal = 'Slurm runs a job as the account that submits it, and this workflow server runs as "flotilla", not as "alice"';
    const engine = await box.engine({ platforms: PLATFORMS, slurmRefusal: refusal });
    await engine.command('play', { workflows: ['r'], by: 'alice' });
    await waitFor('s to fail to submit', () => task(engine, 'r', '1/s')?.state === 'submit-failed');
    await waitFor('l to succeed', () => task(engine, 'r', '1/l')?.state === 'succeeded');
    expect(task(engine, 'r', '1/s')).toMatchObject({ submitNum: 2 });
    const log = engine.workflowLog('r').map((e) => e.text).join('\n');
    expect(log).toContain(`1/s: job 2 could not start: platform hpc: ${refusal}`);
  });
});
