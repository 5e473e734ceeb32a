/**
 * Atomic writes: every byte or nothing. Short writes and failures are injected through the
 * fs seam; a real full disk is a small tmpfs (root only, as in CI).
 */
import * as fs from 'node:fs';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtomicWriteError, writeFileAtomic, type WriteCalls } from '../../src/util/atomic-write.js';
import { IS_ROOT, mountSmallDisk, type SmallDisk } from './small-disk.js';

describe('writeFileAtomic with an injected file system', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-atomic-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loops over short writes until every byte is written', () => {
    const file = join(dir, 'short.json');
    const sizes: number[] = [];
    const shortWrites: WriteCalls = {
      ...fs,
      // At most 7 bytes per call, as a nearly full or interrupted file system may do.
      writeSync: ((fd: number, buffer: Buffer, offset: number, length: number) => {
        const n = Math.min(7, length);
        sizes.push(n);
        return fs.writeSync(fd, buffer, offset, n);
      }) as WriteCalls['writeSync'],
    };
    const content = JSON.stringify({ sharing: 'x'.repeat(100) });
    writeFileAtomic(file, content, 0o600, shortWrites);
    expect(readFileSync(file, 'utf8')).toBe(content);
    expect(sizes.length).toBe(Math.ceil(content.length / 7));
  });

  it('keeps the previous file and names the file when a write fails part-way', () => {
    const file = join(dir, 'kept.json');
    writeFileSync(file, '{"old":true}\n');
    let calls = 0;
    const failing: WriteCalls = {
      ...fs,
      writeSync: ((fd: number, buffer: Buffer, offset: number) => {
        if (++calls > 1) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        return fs.writeSync(fd, buffer, offset, 3);
      }) as WriteCalls['writeSync'],
    };
    let thrown: unknown;
    try {
      writeFileAtomic(file, '{"new":true,"padding":"....."}\n', 0o600, failing);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(AtomicWriteError);
    expect((thrown as AtomicWriteError).diskFull).toBe(true);
    expect((thrown as Error).message).toContain(file);
    expect((thrown as Error).message).toContain('no space left');
    expect(readFileSync(file, 'utf8')).toBe('{"old":true}\n');
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('treats a write that accepts nothing as a full disk instead of looping for ever', () => {
    const file = join(dir, 'zero.json');
    const zero: WriteCalls = { ...fs, writeSync: (() => 0) as WriteCalls['writeSync'] };
    expect(() => writeFileAtomic(file, 'data', 0o600, zero)).toThrow(/zero\.json: no space left/);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('keeps the previous file when the flush or the rename fails', () => {
    const file = join(dir, 'flush.json');
    writeFileSync(file, 'before');
    const eio = () => {
      throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
    };
    expect(() => writeFileAtomic(file, 'after', 0o600, { ...fs, fsyncSync: eio })).toThrow(AtomicWriteError);
    expect(() => writeFileAtomic(file, 'after', 0o600, { ...fs, renameSync: eio })).toThrow(/flush\.json: EIO/);
    expect(readFileSync(file, 'utf8')).toBe('before');
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });
});

describe.runIf(IS_ROOT)('writeFileAtomic on a real full disk (tmpfs)', () => {
  let disk: SmallDisk;
  beforeAll(() => {
    disk = mountSmallDisk(256);
  });
  afterAll(() => disk?.unmount());

  it('keeps the old file intact and says the disk is full, whether it is full or runs out mid-write', () => {
    const file = join(disk.dir, 'sharing.json');
    const old = `${JSON.stringify({ WorkflowServer: { user_authorization: { bob: ['READ'] } } }, null, 2)}\n`;
    writeFileAtomic(file, old);
    const big = JSON.stringify({ padding: 'y'.repeat(64 * 1024) });
    for (const leave of [0, 8192]) {
      disk.fill(leave);
      let thrown: unknown;
      try {
        writeFileAtomic(file, big);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(AtomicWriteError);
      expect((thrown as AtomicWriteError).diskFull).toBe(true);
      expect((thrown as Error).message).toBe(`cannot write ${file}: no space left on the device (ENOSPC); the previous file is kept unchanged`);
      expect(readFileSync(file, 'utf8')).toBe(old);
      expect(readdirSync(disk.dir).sort()).toEqual(['filler', 'sharing.json']);
      disk.drain();
    }
    writeFileAtomic(file, big);
    expect(readFileSync(file, 'utf8')).toBe(big);
  });
});
