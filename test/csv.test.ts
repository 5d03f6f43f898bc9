import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csvCell } from '../src/report/text/csv.js';

/** RFC 4180 cells of one record (quoted cells may hold commas, quotes, CR and LF). */
function parseRecord(line: string): string[] {
  const cells: string[] = [];
  const re = /("((?:[^"]|"")*)"|[^,]*)(,|$)/gy;
  for (let m = re.exec(line); m !== null && re.lastIndex <= line.length; m = re.exec(line)) {
    cells.push(m[2] !== undefined ? m[2].replace(/""/g, '"') : (m[1] as string));
    if (m[3] === '') break;
  }
  return cells;
}

test('CSV cells: text a spreadsheet would run as a formula is quoted and prefixed with a quote; numbers stay numbers', () => {
  const rows: [string | number | null, string][] = [
    // plain text and numbers: as they are
    ['read', 'read'],
    ['failed_timeout', 'failed_timeout'],
    [12, '12'],
    [0.25, '0.25'],
    // a negative number is a number, not a formula
    [-1.5, '-1.5'],
    [null, ''],
    // formula starters (OWASP CSV injection): = + - @, tab, CR
    ['=HYPERLINK("http://x","y")', `"'=HYPERLINK(""http://x"",""y"")"`],
    ['+1+2', `"'+1+2"`],
    ['-2+3', `"'-2+3"`],
    ['@SUM(A1)', `"'@SUM(A1)"`],
    ['\t=1', `"'\t=1"`],
    ['\r=1', `"'\r=1"`],
    // RFC 4180: a comma, a quote, LF or CR inside is quoted
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['carriage\rreturn', '"carriage\rreturn"'],
    // a quote, = elsewhere than first: not a formula
    ["it's", "it's"],
    ['a=b', 'a=b'],
  ];
  for (const [value, cell] of rows) assert.equal(csvCell(value), cell, JSON.stringify(value));
});

test('CSV cells read back as one record each, line breaks inside included', () => {
  const values = ['=1+1', 'a,b', 'two\r\nlines', '-x', 'plain'];
  const line = values.map(csvCell).join(',');
  assert.deepEqual(parseRecord(line), ["'=1+1", 'a,b', 'two\r\nlines', "'-x", 'plain']);
});
