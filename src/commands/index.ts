import type { CommandFactory } from './context.js';
import { compareCommand } from './compare.js';
import { mergeCommand } from './merge.js';
import { reportCommand } from './report.js';
import { runCommand } from './run.js';
import { demoCommand } from './demo.js';
import { exportCommand } from './export.js';
import { sandboxCommand } from './sandbox.js';
import { scenarioCommand } from './scenario.js';

export type { CommandContext, CommandFactory } from './context.js';

export const commands: CommandFactory[] = [
  runCommand,
  scenarioCommand,
  reportCommand,
  compareCommand,
  sandboxCommand,
  mergeCommand,
  exportCommand,
  demoCommand,
];
