import type { Command } from 'commander';

// Placeholder registration until this command is written; it adds nothing to the program.
export function registerConfigCommands(_program: Command): void {}
