import { Command } from 'commander';

/**
 * Each command's module is loaded only when that command runs, so that `authz eval` does not
 * pay for express and graphql, and one part failing to load cannot break the other commands.
 * Help without a command word loads them all to list them.
 */
type Register = (program: Command) => void;
const COMMANDS: Record<string, () => Promise<Register>> = {
  hub: async () => (await import('./hub.js')).registerHubCommand,
  server: async () => (await import('./server.js')).registerServerCommand,
  passwd: async () => (await import('./passwd.js')).registerPasswdCommands,
  authz: async () => (await import('./authz.js')).registerAuthzCommands,
  config: async () => (await import('./config.js')).registerConfigCommands,
  backup: async () => (await import('./backup.js')).registerBackupCommand,
  'stop-servers': async () => (await import('./stop-servers.js')).registerStopServersCommand,
};

const program = new Command('flotilla')
  .description('Flotilla: a multi-user hub for workflow servers')
  .showHelpAfterError()
  .exitOverride((err) => {
    // commander exits 0 for --help/--version and 1 for usage errors; keep its codes.
    process.exit(err.exitCode);
  });

const word = process.argv[2];
const wanted = word !== undefined && Object.hasOwn(COMMANDS, word) ? [word] : Object.keys(COMMANDS);
for (const name of wanted) (await COMMANDS[name]!())(program);

await program.parseAsync(process.argv);
