import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { HeapSessionStore, MAX_SAMPLES, recordCounts, setBaseline } from '../../../src/model/heapSessions';
import { heapTable } from '../../../src/model/heapTable';

const counts = (n: number) => [{ module: 'tasks', type: 'Payload', count: n, size: n * 56 }];
const delta = (s: { latest: ReturnType<typeof counts>; baseline: Map<string, never> | null } | ReturnType<HeapSessionStore<null>['of']>) =>
  heapTable(s.latest, s.baseline, { sort: 'delta', filter: '', growing: new Set() })[0].delta;

test('each worker keeps its own baseline: switching between two and back loses no Δ', () => {
  const store = new HeapSessionStore(() => null);
  const a = store.of(100), b = store.of(200);
  recordCounts(a, counts(10), 1, 1000);
  recordCounts(b, counts(500), 1, 1000);
  recordCounts(a, counts(25), 2, 2000);
  recordCounts(b, counts(510), 2, 2000);
  // the view switches: the same states come back
  assert.equal(store.of(100), a);
  assert.equal(delta(store.of(100)), 15);
  assert.equal(delta(store.of(200)), 10);
  assert.equal(store.of(100).baselineAt, 1000, 'the first count is the baseline');
  setBaseline(a, 3000);
  assert.equal(delta(a), 0);
  assert.equal(delta(b), 10, "another worker's baseline is untouched");
  store.drop(100);
  assert.equal(store.has(100), false);
  assert.equal(delta(store.of(100).latest.length ? store.of(100) : { latest: counts(1), baseline: null }), 0, 'a dropped worker starts afresh');
});

test('samples are bounded', () => {
  const s = new HeapSessionStore(() => null).of(1);
  for (let i = 0; i < MAX_SAMPLES + 10; i++) recordCounts(s, counts(i), i);
  assert.equal(s.samples.length, MAX_SAMPLES);
  assert.equal(s.samples[0].timestamp, 10);
});
