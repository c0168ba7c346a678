// The timeline's per-worker history: kept from the attach on, bounded, older samples folded to
// one point per minute with the highest values; background heap samples spaced by their cost.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COARSE_MS, FINE_MS, WorkerHistory, backgroundHeapIntervalMs } from '../../../src/model/timelineHistory';

test('keeps every sample of the last 6 h at full rate, folds older ones to the highest value per minute', () => {
  const t0 = Date.UTC(2026, 11, 1, 12, 0, 0);
  const h = new WorkerHistory('42', t0);
  // 7 h of 2-s samples: RSS rises 1 KB per sample, with a spike at 00:30:10.
  const n = (7 * 3600) / 2;
  for (let i = 0; i < n; i++) h.add({ workerId: '42', t: t0 + i * 2000, rss: 1000 * i + (i === 905 ? 5_000_000 : 0), ...(i % 15 === 0 ? { heapUsed: i } : {}) });
  const all = h.samples();
  const last = all[all.length - 1];
  assert.equal(last.t, t0 + (n - 1) * 2000);
  const fine = all.filter(s => s.t >= last.t - FINE_MS);
  assert.equal(fine.length, FINE_MS / 2000 + 1, 'every sample of the last 6 h');
  const coarse = all.filter(s => s.t < last.t - FINE_MS);
  assert.equal(coarse.length, 60, 'the first hour: one point per minute');
  assert.ok(coarse.every(s => s.t % COARSE_MS === 0));
  // The minute with the spike keeps the spike, and every point keeps the highest heap value of its minute.
  const spike = coarse.find(s => s.t === t0 + 30 * 60_000)!;
  assert.equal(spike.rss, 5_000_000 + 905_000);
  assert.equal(coarse[0].rss, 29_000);
  assert.equal(coarse[0].heapUsed, 15);
  assert.equal(h.foldedUntil, coarse[coarse.length - 1].t);
  assert.equal(h.since, t0);
  assert.ok(all.every((s, i) => i === 0 || s.t > all[i - 1].t), 'oldest first, in order');
});

test('bounded by count too (a fast sampler), markers capped with a count of what went', () => {
  const h = new WorkerHistory('1', 0, { fineMs: FINE_MS, fineMax: 100, coarseMs: COARSE_MS, coarseMax: 3, markersMax: 10 });
  for (let i = 0; i < 10_000; i++) h.add({ workerId: '1', t: i * 100, rss: i });
  assert.ok(h.size <= 103, `size ${h.size}`);
  assert.equal(h.samples().filter(s => s.t % COARSE_MS === 0 && s.t < 9900 * 100).length >= 3, true);
  for (let i = 0; i < 40; i++) h.addMarker({ workerId: '1', t: i, name: 'tasks.leak' });
  assert.ok(h.markers().length <= 12.5);
  assert.equal(h.markers()[h.markers().length - 1].t, 39);
  assert.equal(h.droppedMarkers + h.markers().length, 40);
});

test('background heap samples: every 30 s at least, ≤ 1 % of the worker time', () => {
  assert.equal(backgroundHeapIntervalMs(null), 30_000);
  assert.equal(backgroundHeapIntervalMs(40), 30_000);
  assert.equal(backgroundHeapIntervalMs(800), 80_000);
});
