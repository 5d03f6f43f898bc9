/**
 * Text renderings of a summary: the terminal tables (terminal.ts), summary.md and compare.md (markdown.ts),
 * report.html and compare.html (html.ts), seconds.csv (csv.ts); the wording they share is in wording.ts and
 * tables.ts, so a sentence reads the same everywhere.
 */
export { formatAvailability, formatNines } from './wording.js';
export { formatSummaryTable, formatCompareTable } from './terminal.js';
export { summaryMarkdown, compareMarkdown } from './markdown.js';
export { reportHtml, compareHtml } from './html.js';
export { secondsCsv } from './csv.js';
