import { Command } from 'commander';
import { registerAuthzCommands } from './authz.js';
import { registerConfigCommands } from './config.js';
import { registerHubCommand } from './hub.js';
import { registerPasswdCommands } from './passwd.js';
import { registerServerCommand } from './server.js';

const program = new Command('flotilla')
  .description('Flotilla: a multi-user hub for workflow servers')
  .showHelpAfterError()
  .exitOverride((err) => {
    // commander exits 0 for --help/--version and 1 for usage errors; keep its codes.
    process.exit(err.exitCode);
  });

registerHubCommand(program);
registerServerCommand(program);
registerPasswdCommands(program);
registerAuthzCommands(program);
registerConfigCommands(program);

await program.parseAsync(process.argv);
