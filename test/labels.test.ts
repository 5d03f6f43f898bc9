/**
 * Event-line labels on the charts (src/report/render.ts placeLineLabels): events a few pixels apart — a
 * step's phases in quick succession, a switchover's SWITCHOVER_* and rds_topology events — must not print on
 * top of each other, and a label stays inside its panel and off the axis numbers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LABEL_THICKNESS, placeLineLabels, type LabelSpot, type LineLabel } from '../src/report/render.js';

function rect(it: LineLabel, s: LabelSpot): { x1: number; x2: number; y1: number; y2: number } {
  return { x1: s.left, x2: s.left + LABEL_THICKNESS, y1: s.y, y2: s.y + it.length };
}

function assertNoOverlap(items: LineLabel[], spots: LabelSpot[]): void {
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      const a = rect(items[i] as LineLabel, spots[i] as LabelSpot);
      const b = rect(items[j] as LineLabel, spots[j] as LabelSpot);
      const overlap = a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;
      assert.equal(overlap, false, `labels ${i} and ${j} overlap: ${JSON.stringify([a, b])}`);
    }
  }
}

test('labels of lines far apart keep their place: right of the line, 40 px below the top', () => {
  const items: LineLabel[] = [
    { x: 100, top: 10, bottom: 400, length: 120 },
    { x: 300, top: 10, bottom: 400, length: 200 },
  ];
  assert.deepEqual(placeLineLabels(items), [
    { left: 103, y: 50 },
    { left: 303, y: 50 },
  ]);
});

test('labels of lines a few pixels apart are stacked down their lines, none over another', () => {
  // in-place upgrade: shutting down, offline, starting, upgrading within a few hundred ms.
  const items: LineLabel[] = [
    { x: 400, top: 10, bottom: 600, length: 110 },
    { x: 404, top: 10, bottom: 600, length: 60 },
    { x: 409, top: 10, bottom: 600, length: 90 },
  ];
  const spots = placeLineLabels(items);
  assertNoOverlap(items, spots);
  for (const [i, s] of spots.entries()) {
    const it = items[i] as LineLabel;
    assert.ok(s.y >= it.top && s.y + it.length <= it.bottom, `label ${i} inside its panel`);
    assert.ok(Math.abs(s.left - it.x) <= LABEL_THICKNESS + 3, `label ${i} next to its line`);
  }
  assert.deepEqual(spots[0], { left: 403, y: 50 }, 'the first keeps its place');
});

test('a label that cannot go down its line goes to the left of it, and never over the axis', () => {
  // A short panel: the second label does not fit below the first.
  const items: LineLabel[] = [
    { x: 200, top: 0, bottom: 200, length: 140 },
    { x: 205, top: 0, bottom: 200, length: 140 },
  ];
  const spots = placeLineLabels(items, 50);
  assertNoOverlap(items, spots);
  assert.equal(spots[1]?.left, 205 - 3 - LABEL_THICKNESS, 'left of its line');
  // At the left edge of the chart area there is no left side: the label keeps its default place.
  const edge: LineLabel[] = [
    { x: 52, top: 0, bottom: 200, length: 140 },
    { x: 55, top: 0, bottom: 200, length: 140 },
  ];
  const at = placeLineLabels(edge, 50);
  for (const s of at) assert.ok(s.left >= 50, 'not over the axis numbers');
});

test('panels are independent: labels in different panels at the same x do not move each other', () => {
  const items: LineLabel[] = [
    { x: 300, top: 0, bottom: 300, length: 120 },
    { x: 302, top: 320, bottom: 620, length: 120 },
  ];
  assert.deepEqual(placeLineLabels(items), [
    { left: 303, y: 40 },
    { left: 305, y: 360 },
  ]);
});
