import type { CommandModule } from 'yargs';
import type { Io } from '../io.js';
import type { PngRenderer } from '../report/index.js';

/** What every command gets: the Io, and a place to leave its exit code. */
export interface CommandContext {
  io: Io;
  exitCode: number;
  /** Renders report charts (default: chart.js on node-canvas); a test's renderer can fail on purpose. */
  renderPng?: PngRenderer;
}

/**
 * Each command file exports a factory taking the context and returning a thin yargs CommandModule;
 * the core function it wraps takes typed, parsed input. Register each factory in index.ts, one line each.
 */
export type CommandFactory = (ctx: CommandContext) => CommandModule<object, never>;
