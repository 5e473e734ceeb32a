import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { HtpasswdFile } from '../../src/htpasswd/index.js';
import { useTempDir } from '../config/temp-dir.js';
import { REPO } from '../config/run-flotilla.js';

// util-linux `script` gives the command a real terminal, so the hidden prompt itself is tested.
const SCRIPT = '/usr/bin/script';
const haveScript = existsSync(SCRIPT);
if (!haveScript) console.warn(`SKIPPED: terminal prompt tests need ${SCRIPT} (util-linux)`);

/**
 * Runs `flotilla passwd …` on a pseudo-terminal, typing each answer only once its prompt has
 * appeared (typed earlier, the terminal would still be echoing). Resolves with everything shown.
 */
function onTerminal(args: string[], answers: string[]): Promise<{ code: number | null; screen: string }> {
  const command = [process.execPath, join(REPO, 'bin', 'flotilla'), 'passwd', ...args].map((word) => `'${word}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(SCRIPT, ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let prompts = 0;
    const onOutput = (chunk: string): void => {
      screen += chunk;
      const seen = (screen.match(/Password( again)?: /g) ?? []).length;
      while (prompts < seen && prompts < answers.length) child.stdin.write(`${answers[prompts++]}\r`);
    };
    child.stdout.setEncoding('utf8').on('data', onOutput);
    child.stderr.setEncoding('utf8').on('data', onOutput);
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, screen });
    });
  });
}

describe.skipIf(!haveScript)('passwd prompting on a terminal', { timeout: 120_000 }, () => {
  const tempDir = useTempDir('prompt');
  let file = '';
  beforeEach(() => void (file = join(tempDir(), 'htpasswd')));

  it('asks twice with input hidden, and stores the password', async () => {
    const { code, screen } = await onTerminal(['add', '--file', file, '--cost', '4', 'alice'], ['s3cret-typed', 's3cret-typed']);
    expect(screen).toContain('Password: ');
    expect(screen).toContain('Password again: ');
    expect(screen).not.toContain('s3cret-typed');
    expect(code).toBe(0);
    expect(await new HtpasswdFile(file).verify('alice', 's3cret-typed')).toBe(true);
  });

  it('changes nothing when the two answers differ', async () => {
    const { code, screen } = await onTerminal(['add', '--file', file, '--cost', '4', 'alice'], ['first-typed', 'second-typed']);
    expect(code).toBe(1);
    expect(screen).toContain('the two passwords differ; nothing changed');
    expect(screen).not.toMatch(/first-typed|second-typed/);
    expect(existsSync(file)).toBe(false);
  });

  it('verify asks once', async () => {
    await new HtpasswdFile(file).add('bob', 'bobs-typed', 4);
    const good = await onTerminal(['verify', '--file', file, 'bob'], ['bobs-typed']);
    expect(good.code).toBe(0);
    expect(good.screen).not.toContain('bobs-typed');
    expect(good.screen).toContain('password for bob is correct');
  });
});
