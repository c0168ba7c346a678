import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COUNT_BUDGET, NODE_COUNT_BUDGET, countBudget, refreshIntervalMs, refreshNote, untrackedSpacing } from '../../../src/model/refreshBudget';

test('Node: a cheap count keeps the configured interval; a costly snapshot stretches it to stay within 5% of the worker\'s time', () => {
  const b = countBudget('node');
  assert.equal(b, NODE_COUNT_BUDGET);
  assert.equal(refreshIntervalMs(2000, null, b), 2000);
  assert.equal(refreshIntervalMs(2000, 40, b), 2000);
  assert.equal(refreshIntervalMs(2000, 420, b), 8400);
  assert.equal(refreshNote(2000, 40, 'a full V8 heap snapshot', b), null);
  assert.equal(refreshNote(2000, 420, 'a full V8 heap snapshot', b),
    'each refresh is a full V8 heap snapshot and paused the worker up to 0.42 s: refreshing every 8.4 s keeps that under 5% of its time');
});

test('Python: refreshes stay within 0.375 % of the worker (0.5 % with the untracked walk): 2 s up to a 7.5 ms refresh, longer above', () => {
  const b = countBudget('python');
  assert.equal(b, COUNT_BUDGET);
  assert.ok(Math.abs(b - 0.00375) < 1e-12);
  assert.equal(refreshIntervalMs(2000, 5, b), 2000);      // ~40k objects
  assert.equal(refreshIntervalMs(2000, 7.5, b), 2000);
  assert.equal(refreshIntervalMs(2000, 60, b), 16000);    // ~1M objects: count 57 ms + breakdown 3 ms
  assert.equal(refreshNote(2000, 60, 'a gc.get_objects() walk', b),
    'each refresh is a gc.get_objects() walk and paused the worker up to 0.06 s: refreshing every 16.0 s keeps that under 0.38% of its time');
  assert.equal(countBudget(undefined), COUNT_BUDGET);
});

test('workerLens.heap.workerShare moves both budgets: 0.5 % = refreshes 0.375 % + the untracked walk 800 x its cost apart; bad values fall back', () => {
  assert.equal(untrackedSpacing(), 800);
  assert.equal(untrackedSpacing(1), 400);
  assert.ok(Math.abs(countBudget('python', 4) - 0.03) < 1e-12);
  assert.equal(untrackedSpacing(4), 100);
  assert.equal(countBudget('python', Number.NaN), COUNT_BUDGET);
  assert.equal(countBudget('python', -3), COUNT_BUDGET);
  assert.ok(Math.abs(countBudget('python', 0.01) - 0.00075) < 1e-12);     // at least 0.1 %
  assert.equal(countBudget('node', 0.5), NODE_COUNT_BUDGET);
  assert.equal(refreshIntervalMs(2000, 57, countBudget('python', 4)), 2000);
});
