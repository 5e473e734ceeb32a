/**
 * Hub-managed services (JupyterHub's `services` with a `command`): real processes started once
 * the hub listens, with JupyterHub's environment, started again after a crash, stopped with the
 * hub (SIGKILL for one that ignores SIGTERM), and stopped by the next hub when a SIGKILLed hub
 * left them running.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { processStartTicks } from '../../src/util/proc.js';
import { makeDataDir, startHub, writeUsers, type HubFixture } from './helpers.js';
import { freePort, startHubProcess, type HubProcess } from './hub-process.js';

const PROBE = resolve(import.meta.dirname, 'fixtures', 'service-probe.mjs');

interface ProbeStart {
  pid: number;
  /** A child it left behind in its process group. */
  child?: number;
  cwd: string;
  env: Record<string, string>;
}

function probeStarts(file: string): ProbeStart[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as ProbeStart);
}

/** Whether a process runs (a zombie does not count: it has ended, only its parent has not looked). */
function running(pid: number): boolean {
  return processStartTicks(pid) !== undefined;
}

function probeService(name: string, dir: string, mode: string, extra: Record<string, unknown> = {}) {
  return { name, command: [process.execPath, PROBE], environment: { PROBE_OUT: join(dir, `${name}.jsonl`), PROBE_MODE: mode }, ...extra };
}

describe('hub-managed services', () => {
  let f: HubFixture | undefined;
  const logs: Record<string, unknown>[] = [];
  const stray: number[] = [];

  afterEach(async () => {
    await f?.close();
    f = undefined;
    for (const pid of stray.splice(0)) if (running(pid)) process.kill(pid, 'SIGKILL');
  });

  it('start with JupyterHub environment, start again after a crash, log their output, and stop with the hub', async () => {
    const dir = makeDataDir();
    await writeUsers(dir);
    const workdir = join(dir, 'service-home');
    mkdirSync(workdir);
    process.env.FLOTILLA_TEST_HUB_SECRET = 'the hub keeps this to itself';
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
    f = await startHub({
      dir,
      logger,
      hub: {
        spawner: { stop_grace: 2 },
        services: [
          probeService('flaky', dir, 'crash-once', { cwd: workdir }),
          probeService('stubborn', dir, 'stubborn', { api_token: 'the-stubborn-service-token-0123456789' }),
          probeService('leaver', dir, 'leave-child'),
          probeService('parent', dir, 'child-ignores-term'),
          { name: 'outside', api_token: 'an-outside-service-token-0123456789' },
        ],
      },
    });
    delete process.env.FLOTILLA_TEST_HUB_SECRET;
    const flakyFile = join(dir, 'flaky.jsonl');
    const stubbornFile = join(dir, 'stubborn.jsonl');
    // The first start exits with status 3; the hub starts it again (after a second).
    await expect.poll(() => probeStarts(flakyFile).length, { timeout: 15_000, interval: 100 }).toBe(2);
    await expect.poll(() => probeStarts(stubbornFile).length, { timeout: 15_000, interval: 100 }).toBe(1);
    const [crashed, again] = probeStarts(flakyFile) as [ProbeStart, ProbeStart];
    const [stubborn] = probeStarts(stubbornFile) as [ProbeStart];
    stray.push(again.pid, stubborn.pid);
    // What a crashed service left in its process group is gone before it runs again.
    await expect.poll(() => probeStarts(join(dir, 'leaver.jsonl')).length, { timeout: 15_000, interval: 100 }).toBe(2);
    const [leaver, leaverAgain] = probeStarts(join(dir, 'leaver.jsonl')) as [ProbeStart, ProbeStart];
    stray.push(leaver.child!, leaverAgain.pid);
    expect(running(leaver.child!)).toBe(false);
    expect(running(leaverAgain.pid)).toBe(true);
    await expect.poll(() => probeStarts(join(dir, 'parent.jsonl')).length, { timeout: 15_000, interval: 100 }).toBe(1);
    const [parent] = probeStarts(join(dir, 'parent.jsonl')) as [ProbeStart];
    stray.push(parent.pid, parent.child!);
    expect(running(parent.child!)).toBe(true);
    expect(again.pid).not.toBe(crashed.pid);
    expect(running(crashed.pid)).toBe(false);
    expect(running(again.pid)).toBe(true);

    expect(again.env).toMatchObject({
      JUPYTERHUB_SERVICE_NAME: 'flaky',
      JUPYTERHUB_API_URL: `${f.url}/hub/api`,
      JUPYTERHUB_BASE_URL: '/',
      PROBE_MODE: 'crash-once',
      PATH: process.env.PATH,
    });
    // The configured api_token, or one the hub made, the same across the restart (it lives as long as the hub).
    expect(stubborn.env.JUPYTERHUB_API_TOKEN).toBe('the-stubborn-service-token-0123456789');
    expect(again.env.JUPYTERHUB_API_TOKEN!.length).toBeGreaterThanOrEqual(32);
    expect(crashed.env.JUPYTERHUB_API_TOKEN).toBe(again.env.JUPYTERHUB_API_TOKEN);
    // Nothing of the hub's own environment but what finds programs and the locale, and the mark
    // by which a later hub finds what a killed one left.
    expect(again.env.FLOTILLA_TEST_HUB_SECRET).toBeUndefined();
    expect(Object.keys(again.env).filter((k) => !['PATH', 'LANG', 'LC_ALL'].includes(k)).sort()).toEqual([
      'FLOTILLA_HUB_DATA_DIR', 'FLOTILLA_HUB_SERVICE',
      'JUPYTERHUB_API_TOKEN', 'JUPYTERHUB_API_URL', 'JUPYTERHUB_BASE_URL', 'JUPYTERHUB_SERVICE_NAME', 'PROBE_MODE', 'PROBE_OUT',
    ]);
    // cwd as configured, else the data directory.
    expect(again.cwd).toBe(workdir);
    expect(stubborn.cwd).toBe(dir);

    // Output lines reach the hub's log under the service's name; the crash is logged.
    await expect
      .poll(() => logs.filter((l) => l.service === 'flaky' && typeof l.msg === 'string' && l.msg.startsWith('probe flaky up as')).length, { timeout: 5_000 })
      .toBe(2);
    expect(logs.some((l) => l.service === 'stubborn' && l.stream === 'stderr' && l.msg === 'probe says something on stderr')).toBe(true);
    expect(logs.some((l) => l.service === 'flaky' && l.level === 50 && String(l.msg).startsWith('service exited with status 3; starting it again'))).toBe(true);

    await f.close(true);
    f = undefined;
    // Both gone: the stubborn one needed SIGKILL after the grace.
    expect(running(again.pid)).toBe(false);
    expect(running(stubborn.pid)).toBe(false);
    expect(running(leaverAgain.pid)).toBe(false);
    // The service stopped on SIGTERM; the child it started, which ignores SIGTERM, was killed after the grace.
    expect(running(parent.pid)).toBe(false);
    expect(running(parent.child!)).toBe(false);
    expect(logs.some((l) => l.service === 'parent' && String(l.msg).startsWith('processes the service started outlived its grace'))).toBe(true);
    expect(logs.some((l) => l.service === 'stubborn' && l.msg === 'probe ignores SIGTERM')).toBe(true);
    expect(logs.some((l) => l.service === 'stubborn' && String(l.msg).includes('sending SIGKILL'))).toBe(true);
    // No restart after the hub asked them to stop.
    expect(probeStarts(flakyFile)).toHaveLength(2);
    expect(probeStarts(stubbornFile)).toHaveLength(1);
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps starting a service that cannot run at all, waiting twice as long each time, with the reason in the log', async () => {
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
    f = await startHub({ logger, hub: { services: [{ name: 'missing', command: ['/nonexistent/program'] }] } });
    const failures = () => logs.filter((l) => l.service === 'missing' && String(l.msg).startsWith('service could not be started: spawn /nonexistent/program ENOENT'));
    await expect.poll(() => failures().length, { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
    expect(failures().slice(0, 3).map((l) => l.restartInMs)).toEqual([1_000, 2_000, 4_000]);
  });
});

describe('services of a hub that was SIGKILLed', () => {
  const dir = makeDataDir();
  const configFile = join(dir, 'jupyter_config.json');
  const out = join(dir, 'culler.jsonl');
  let hub: HubProcess | undefined;

  afterAll(() => {
    hub?.kill();
    for (const start of probeStarts(out)) if (running(start.pid)) process.kill(start.pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('are stopped by the next hub before it starts them again, and stop when that hub gets SIGTERM', async () => {
    await writeUsers(dir, { alice: 'alice-secret-1' });
    const port = await freePort();
    writeFileSync(
      configFile,
      JSON.stringify({
        JupyterHub: {
          bind_url: `http://127.0.0.1:${port}`,
          data_dir: dir,
          authenticator: { htpasswd_file: join(dir, 'htpasswd') },
          spawner: { stop_grace: 2 },
          services: [probeService('culler', dir, 'run')],
        },
      }),
    );
    hub = await startHubProcess(configFile, port);
    await expect.poll(() => probeStarts(out).length, { timeout: 15_000 }).toBe(1);
    const orphan = probeStarts(out)[0]!;
    hub.kill();
    await hub.exited;
    // A SIGKILLed hub cannot stop anything: the service outlives it.
    expect(running(orphan.pid)).toBe(true);

    hub = await startHubProcess(configFile, port);
    await expect.poll(() => probeStarts(out).length, { timeout: 15_000 }).toBe(2);
    const fresh = probeStarts(out)[1]!;
    expect(running(orphan.pid)).toBe(false);
    expect(running(fresh.pid)).toBe(true);
    expect(hub.output()).toContain('stopping a service process that a previous hub left running');

    hub.child.kill('SIGTERM');
    expect((await hub.exited).code).toBe(0);
    expect(running(fresh.pid)).toBe(false);
    expect(probeStarts(out)).toHaveLength(2);
  });
});

describe('a service a SIGKILLed hub had started but not yet recorded', () => {
  const dir = makeDataDir();
  const configFile = join(dir, 'jupyter_config.json');
  const out = join(dir, 'culler.jsonl');
  let hub: HubProcess | undefined;
  const spares: number[] = [];

  afterAll(() => {
    hub?.kill();
    for (const pid of [...probeStarts(out).map((s) => s.pid), ...spares]) if (running(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  /** A probe as a hub on `dataDir` would have started it, with the mark in its environment (and no record). */
  function orphan(dataDir: string, mode: string): number {
    const child = spawn(process.execPath, [PROBE], {
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, FLOTILLA_HUB_DATA_DIR: dataDir, FLOTILLA_HUB_SERVICE: 'culler', PROBE_OUT: out, PROBE_MODE: mode },
    });
    child.unref();
    return child.pid!;
  }

  it("is found by its mark and stopped before the next hub starts it again; another hub's service is left alone", async () => {
    await writeUsers(dir, { alice: 'alice-secret-1' });
    const port = await freePort();
    writeFileSync(configFile, JSON.stringify({
      JupyterHub: {
        bind_url: `http://127.0.0.1:${port}`, data_dir: dir, authenticator: { htpasswd_file: join(dir, 'htpasswd') },
        spawner: { stop_grace: 1 }, services: [probeService('culler', dir, 'run')],
      },
    }));
    // One that ignores SIGTERM: the next hub needs SIGKILL for it, though it leads a group of its own.
    const left = orphan(dir, 'stubborn');
    const elsewhere = orphan(join(dir, 'another-site'), 'run');
    spares.push(elsewhere);
    await expect.poll(() => probeStarts(out).length, { timeout: 15_000 }).toBe(2);

    hub = await startHubProcess(configFile, port);
    await expect.poll(() => probeStarts(out).length, { timeout: 15_000 }).toBe(3);
    const fresh = probeStarts(out)[2]!;
    expect(fresh.env.FLOTILLA_HUB_DATA_DIR).toBe(dir);
    expect(fresh.env.FLOTILLA_HUB_SERVICE).toBe('culler');
    await expect.poll(() => running(left), { timeout: 10_000 }).toBe(false);
    expect(running(fresh.pid)).toBe(true);
    expect(running(elsewhere)).toBe(true);
    expect(hub.output()).toContain('stopping a service process that a previous hub left running');
  });
});
