import type { CommandModule } from 'yargs';
import type { Io } from '../io.js';

/** What every command gets: the Io, and a place to leave its exit code. */
export interface CommandContext {
  io: Io;
  exitCode: number;
}

/**
 * Each command file exports a factory taking the context and returning a thin yargs CommandModule;
 * the core function it wraps takes typed, parsed input. Register each factory in index.ts, one line each.
 */
export type CommandFactory = (ctx: CommandContext) => CommandModule<object, never>;
