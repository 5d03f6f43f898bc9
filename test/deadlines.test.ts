import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeadlineQueue, type Deadlined } from '../src/load/deadlines.js';

interface Item extends Deadlined {
  name: string;
}

function item(name: string, deadlineMs: number): Item {
  return { name, deadlineMs, prevDue: null, nextDue: null };
}

function queue(): { q: DeadlineQueue<Item>; expired: string[] } {
  const expired: string[] = [];
  return { q: new DeadlineQueue<Item>(Date.now, (i) => expired.push(i.name)), expired };
}

test('items expire in deadline order, each once, and only after their deadline', async () => {
  const { q, expired } = queue();
  const t = Date.now();
  for (const [name, ms] of [
    ['a', 20],
    ['b', 40],
    ['c', 40],
    ['d', 120],
  ] as const)
    q.add(item(name, t + ms));
  await sleep(70);
  assert.deepEqual(expired, ['a', 'b', 'c']);
  await sleep(90);
  assert.deepEqual(expired, ['a', 'b', 'c', 'd']);
  q.close();
});

test('a removed item never expires, wherever it was in the queue; the rest keep their order', async () => {
  const { q, expired } = queue();
  const t = Date.now();
  const items = ['a', 'b', 'c', 'd', 'e'].map((n, i) => item(n, t + 10 + i * 5));
  for (const i of items) q.add(i);
  const [a, b, c, d, e] = items as [Item, Item, Item, Item, Item];
  q.remove(a); // the head
  q.remove(c); // the middle
  q.remove(e); // the tail
  q.remove(c); // twice: left alone
  q.add(item('f', t + 50));
  await sleep(100);
  assert.deepEqual(expired, ['b', 'd', 'f']);
  assert.equal(b.prevDue, null);
  assert.equal(d.nextDue, null);
  q.close();
});

test('a deadline earlier than the armed timer arms it again; one out of order goes in its place', async () => {
  const { q, expired } = queue();
  const t = Date.now();
  q.add(item('late', t + 400));
  q.add(item('early', t + 20)); // not how the engine adds them, but handled
  q.add(item('middle', t + 60));
  await sleep(120);
  assert.deepEqual(expired, ['early', 'middle']);
  q.close();
  await sleep(350);
  assert.deepEqual(expired, ['early', 'middle'], 'closed: no timer left to expire the rest');
});

test('an emptied queue whose old timer fires expires nothing, and later items still get a timer', async () => {
  const { q, expired } = queue();
  const a = item('a', Date.now() + 15);
  q.add(a);
  q.remove(a);
  await sleep(40);
  assert.deepEqual(expired, []);
  q.add(item('b', Date.now() + 15));
  await sleep(60);
  assert.deepEqual(expired, ['b']);
  q.close();
});
