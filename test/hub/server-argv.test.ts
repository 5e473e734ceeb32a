/**
 * HubOptions.serverArgv: a program embedding the hub (the benchmarks) decides how workflow servers
 * start, here with V8's --cpu-prof, and the server started that way writes its profile when the
 * hub stops it.
 */
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { flotillaServerArgv, type ServerLaunch } from '../../src/spawner/index.js';
import { startHub, type HubFixture } from './helpers.js';

const SLOW = 90_000;

describe('a hub given serverArgv', () => {
  let site: HubFixture | undefined;
  // The server may run under an account of its own (dynamic isolation): anyone may write here.
  const profiles = mkdtempSync(join(tmpdir(), 'flotilla-profiles-'));
  chmodSync(profiles, 0o1777);
  afterAll(async () => {
    await site?.close();
    rmSync(profiles, { recursive: true, force: true });
  }, SLOW);

  it('starts each workflow server the way it says', async () => {
    const launched: ServerLaunch[] = [];
    site = await startHub({
      serverArgv: (launch) => {
        launched.push(launch);
        return ['--cpu-prof', `--cpu-prof-dir=${profiles}`, ...flotillaServerArgv(launch)];
      },
    });
    await site.hub.context.servers.spawner.start('alice');
    expect(launched.map((l) => l.owner)).toEqual(['alice']);
    await site.hub.context.servers.stop('alice');
    expect(readdirSync(profiles).filter((name) => name.endsWith('.cpuprofile'))).toHaveLength(1);
  }, SLOW);
});
