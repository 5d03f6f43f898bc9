import type { CommandModule } from 'yargs';
import type { Io } from '../io.js';
import { compareCommand } from './compare.js';
import { mergeCommand } from './merge.js';
import { reportCommand } from './report.js';
import { runCommand } from './run.js';
import { demoCommand } from './demo.js';
import { sandboxCommand } from './sandbox.js';
import { scenarioCommand } from './scenario.js';

/** What every command gets: the Io, and a place to leave its exit code. */
export interface CommandContext {
  io: Io;
  exitCode: number;
}

/**
 * Each command file exports a factory taking the context and returning a thin yargs CommandModule;
 * the core function it wraps takes typed, parsed input. Register each factory here, one line each.
 */
export type CommandFactory = (ctx: CommandContext) => CommandModule<object, never>;

export const commands: CommandFactory[] = [
  runCommand,
  scenarioCommand,
  reportCommand,
  compareCommand,
  sandboxCommand,
  mergeCommand,
  demoCommand,
];
