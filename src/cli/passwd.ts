import { existsSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_COST, HtpasswdError, HtpasswdFile, MAX_COST, MIN_COST } from '../htpasswd/index.js';

/**
 * `flotilla passwd`: manage an htpasswd file. Passwords never come from argv (other users of
 * the machine can read it): they are read from a terminal with echo off, or as one line on
 * stdin with --password-stdin.
 */

/** Longest line accepted on stdin; a password is at most 72 bytes, this only bounds bad input. */
const MAX_STDIN_BYTES = 4096;

class PasswdUsageError extends Error {}

function parseCost(value: string): number {
  const cost = Number(value);
  if (!/^\d+$/.test(value) || cost < MIN_COST || cost > MAX_COST) {
    throw new InvalidArgumentError(`expected a whole number from ${MIN_COST} to ${MAX_COST}`);
  }
  return cost;
}

/** The first line of stdin, without its line ending. */
async function readPasswordLine(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (chunk.includes(0x0a) || size > MAX_STDIN_BYTES) break;
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const newline = text.indexOf('\n');
  if (newline === -1 && size > MAX_STDIN_BYTES) throw new PasswdUsageError('the line on stdin is too long');
  const line = newline === -1 ? text : text.slice(0, newline);
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** Reads a line from the terminal without echoing it. Ctrl-C or Ctrl-D on an empty line cancels. */
function promptHidden(question: string): Promise<string> {
  const input = process.stdin;
  // Echo goes off before the prompt shows, so nothing typed in answer to it is ever echoed.
  input.setRawMode(true);
  input.setEncoding('utf8');
  input.resume();
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (): void => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string): void => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') {
          finish();
          resolve(value);
          return;
        }
        if (char === '\u0003' || (char === '\u0004' && value === '')) {
          finish();
          reject(new PasswdUsageError('cancelled'));
          return;
        }
        if (char === '\u007f' || char === '\b') value = Array.from(value).slice(0, -1).join('');
        else if (char >= ' ') value += char;
      }
    };
    input.on('data', onData);
  });
}

async function obtainPassword(options: { passwordStdin?: boolean }, confirm: boolean): Promise<string> {
  if (options.passwordStdin) return readPasswordLine();
  if (!process.stdin.isTTY) {
    throw new PasswdUsageError('no terminal to ask for the password on; pipe it in with --password-stdin');
  }
  const password = await promptHidden('Password: ');
  if (confirm && (await promptHidden('Password again: ')) !== password) {
    throw new PasswdUsageError('the two passwords differ; nothing changed');
  }
  return password;
}

/** Runs one subcommand, turning expected failures into a message and exit status 1. */
function guarded<Args extends unknown[]>(run: (...args: Args) => Promise<number> | number) {
  return async (...args: Args): Promise<void> => {
    try {
      process.exitCode = await run(...args);
    } catch (err) {
      if (!(err instanceof HtpasswdError || err instanceof PasswdUsageError)) throw err;
      process.stderr.write(`flotilla passwd: ${err.message}\n`);
      process.exitCode = 1;
    }
  };
}

function existingFile(path: string): HtpasswdFile {
  if (!existsSync(path)) throw new PasswdUsageError(`${path}: no such file`);
  return new HtpasswdFile(path);
}

interface FileOptions {
  file: string;
}
interface PasswordOptions extends FileOptions {
  passwordStdin?: boolean;
}

export function registerPasswdCommands(program: Command): void {
  const passwd = program
    .command('passwd')
    .description('manage an htpasswd file of bcrypt hashes (readable by Apache\'s htpasswd -B too)');

  passwd
    .command('add')
    .description('add USER, or replace their password; asks twice on the terminal unless --password-stdin')
    .argument('<user>', 'user name')
    .requiredOption('--file <file>', 'htpasswd file (created if missing, mode 0600)')
    .option('--cost <n>', `bcrypt cost, ${MIN_COST} to ${MAX_COST}`, parseCost, DEFAULT_COST)
    .option('--password-stdin', 'read the password as one line on stdin')
    .action(
      guarded(async (user: string, options: PasswordOptions & { cost: number }) => {
        const password = await obtainPassword(options, true);
        const outcome = await new HtpasswdFile(options.file).add(user, password, options.cost);
        process.stdout.write(outcome === 'added' ? `added ${user} to ${options.file}\n` : `updated the password of ${user} in ${options.file}\n`);
        return 0;
      }),
    );

  passwd
    .command('remove')
    .description('remove USER')
    .argument('<user>', 'user name')
    .requiredOption('--file <file>', 'htpasswd file')
    .action(
      guarded((user: string, options: FileOptions) => {
        if (!existingFile(options.file).remove(user)) throw new PasswdUsageError(`no user ${JSON.stringify(user)} in ${options.file}`);
        process.stdout.write(`removed ${user} from ${options.file}\n`);
        return 0;
      }),
    );

  passwd
    .command('list')
    .description('print the user names, one a line, in file order')
    .requiredOption('--file <file>', 'htpasswd file')
    .action(
      guarded((options: FileOptions) => {
        for (const user of existingFile(options.file).list()) process.stdout.write(`${user}\n`);
        return 0;
      }),
    );

  passwd
    .command('verify')
    .description('check USER\'s password: exit 0 if it matches, 1 otherwise')
    .argument('<user>', 'user name')
    .requiredOption('--file <file>', 'htpasswd file')
    .option('--password-stdin', 'read the password as one line on stdin')
    .action(
      guarded(async (user: string, options: PasswordOptions) => {
        const file = existingFile(options.file);
        const password = await obtainPassword(options, false);
        if (await file.verify(user, password)) {
          process.stdout.write(`password for ${user} is correct\n`);
          return 0;
        }
        process.stderr.write(`password verification failed for ${user}\n`);
        return 1;
      }),
    );
}
