import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refreshIntervalMs, refreshNote } from '../../../src/model/refreshBudget';

test('a cheap count keeps the configured interval; a costly one stretches it to stay within 5% of the worker\'s time', () => {
  assert.equal(refreshIntervalMs(2000, null), 2000);
  assert.equal(refreshIntervalMs(2000, 40), 2000);
  assert.equal(refreshIntervalMs(2000, 420), 8400);
  assert.equal(refreshNote(2000, 40, 'a full V8 heap snapshot'), null);
  assert.equal(refreshNote(2000, 420, 'a full V8 heap snapshot'),
    'each count is a full V8 heap snapshot and paused the worker up to 0.42 s: refreshing every 8.4 s keeps that under 5% of its time');
});
