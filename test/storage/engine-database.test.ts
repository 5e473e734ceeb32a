/**
 * A damaged, empty or missing engine.sqlite is named and never silently replaced: the workflow
 * server refuses to start with the file and what to do, unless the administrator lists the file
 * in FLOTILLA_START_FRESH.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { START_FRESH_ENV } from '../../src/storage/sqlite-open.js';
import { startTestServer } from '../server/helpers.js';

describe('engine.sqlite at start', () => {
  const dirs: string[] = [];
  afterEach(() => {
    delete process.env[START_FRESH_ENV];
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  /** A data directory with alice's engine database as given, and a runs/ folder if she has run workflows. */
  function dataDir(engine: Buffer | undefined, hasRuns: boolean): { dir: string; file: string } {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-engine-db-'));
    dirs.push(dir);
    const owner = join(dir, 'users', 'alice');
    const file = join(owner, '.flotilla', 'engine.sqlite');
    mkdirSync(join(owner, '.flotilla'), { recursive: true });
    if (engine) writeFileSync(file, engine);
    if (hasRuns) mkdirSync(join(owner, 'runs', 'example', '1'), { recursive: true });
    return { dir, file };
  }

  it('refuses a garbled file, naming it and saying what to do', async () => {
    const { dir, file } = dataDir(Buffer.alloc(16384, 0xa5), true);
    await expect(startTestServer({ owner: 'alice', dataDir: dir })).rejects.toThrow(
      `${file} is not a SQLite database (damaged?); restore it from a backup (bin/flotilla backup) or move it away to start fresh`,
    );
  });

  it('refuses an empty (0-byte) or missing file where workflows have run, naming the switch', async () => {
    for (const engine of [Buffer.alloc(0), undefined]) {
      const { dir, file } = dataDir(engine, true);
      const refused = startTestServer({ owner: 'alice', dataDir: dir });
      await expect(refused).rejects.toThrow(`${file} is ${engine ? 'empty (0 bytes)' : 'missing'} but ${join(dir, 'users', 'alice', 'runs')} exists`);
      await expect(refused).rejects.toThrow(`${START_FRESH_ENV}=${file}`);
    }
  });

  it('starts fresh when the administrator lists the file, and on a new owner without being told', async () => {
    const listed = dataDir(Buffer.alloc(0), true);
    process.env[START_FRESH_ENV] = `/elsewhere/engine.sqlite,${listed.file}`;
    const server = await startTestServer({ owner: 'alice', dataDir: listed.dir });
    await server.close();
    delete process.env[START_FRESH_ENV];
    const newcomer = dataDir(undefined, false);
    await (await startTestServer({ owner: 'alice', dataDir: newcomer.dir })).close();
  });
});
