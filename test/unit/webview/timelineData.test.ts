import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TimelineStore, decimate, GAP_MS } from '../../../src/webview/timelineData';
import { formatBytes, formatCount } from '../../../src/common/format';

test('samples are kept per worker in time order, late ones inserted, cap drops the oldest', () => {
  const s = new TimelineStore(5);
  s.reset({ workers: [{ id: 'a', label: 'A' }], samples: [{ workerId: 'a', t: 10, rss: 1 }, { workerId: 'a', t: 30, rss: 3 }], markers: [] });
  const touched = s.addSamples([{ workerId: 'a', t: 20, rss: 2 }, { workerId: 'b', t: 15, heapUsed: 9 }]);
  assert.deepEqual([...touched].sort(), ['a', 'b']);
  assert.deepEqual(s.series.get('a')!.t, [10, 20, 30]);
  assert.deepEqual(s.series.get('a')!.rss, [1, 2, 3]);
  assert.equal(s.series.get('b')!.worker.label, 'b', 'an unknown worker gets its id as label');
  s.addSamples([40, 50, 60].map(t => ({ workerId: 'a', t, rss: t })));
  assert.deepEqual(s.series.get('a')!.t, [20, 30, 40, 50, 60]);
  assert.equal(s.dropped, 1);
  assert.deepEqual(s.timeExtent(), [15, 60]);
  assert.deepEqual(s.range('rss'), [2, 60], 'the dropped sample no longer counts');
  assert.deepEqual(s.range('heapUsed'), [9, 9]);
  assert.equal(s.range('heapUsed', new Set(['b'])), undefined);
});

test('nearest sample and all times', () => {
  const s = new TimelineStore();
  s.addSamples([0, 10, 20].map(t => ({ workerId: 'a', t, rss: 1 })));
  s.addSamples([5].map(t => ({ workerId: 'b', t, rss: 1 })));
  assert.equal(s.nearest('a', -5), 0);
  assert.equal(s.nearest('a', 14), 1);
  assert.equal(s.nearest('a', 16), 2);
  assert.equal(s.nearest('a', 99), 2);
  assert.equal(s.nearest('zz', 1), -1);
  assert.deepEqual(s.allTimes(), [0, 5, 10, 20]);
});

test('markers stay sorted; baseline counts in the extent', () => {
  const s = new TimelineStore();
  s.reset({ workers: [], samples: [], markers: [{ t: 5, name: 'b' }], baseline: { t: 1 } });
  s.addMarkers([{ t: 3, name: 'a' }, { t: 9, name: 'c' }]);
  assert.deepEqual(s.markers.map(m => m.name), ['a', 'b', 'c']);
  assert.deepEqual(s.timeExtent(), [1, 9]);
});

test('decimate keeps everything when sparse and first/min/max/last per pixel when dense, with gaps', () => {
  // samples without the measure are skipped, not drawn as gaps (task-end samples carry RSS only)
  assert.deepEqual(decimate([0, 1, 2], [5, undefined, 7], 0, 2, 100), [[0, 5], [2, 7]]);
  // the line breaks only where the worker gave no value for longer than GAP_MS
  assert.deepEqual(decimate([0, 2000, 2000 + GAP_MS + 1], [5, 6, 7], 0, 30000, 100), [[0, 5], [2000, 6], null, [2000 + GAP_MS + 1, 7]]);
  const alternating = Array.from({ length: 60 }, (_, i) => i * 1000);
  const heap = decimate(alternating, alternating.map((_, i) => (i % 2 ? undefined : i)), 0, 59000, 800);
  assert.ok(heap.every(p => p !== null) && heap.length === 30, 'a measure sampled every other time is one unbroken line');
  const t = Array.from({ length: 1000 }, (_, i) => i);
  const v = t.map(i => (i === 500 ? 1e6 : i));
  const pts = decimate(t, v, 0, 999, 10);
  assert.ok(pts.length <= 40, `${pts.length} points`);
  assert.ok(pts.some(p => p && p[1] === 1e6), 'the spike survives');
  assert.deepEqual(pts[0], [0, 0]);
  assert.deepEqual(pts[pts.length - 1], [999, 999]);
  for (let i = 1; i < pts.length; i++) assert.ok(pts[i]![0] > pts[i - 1]![0]);
});

test('formatCount groups thousands like en-US', () => {
  for (const n of [0, 7, 999, 1000, 12345, 1234567, -9876543, 2.6]) assert.equal(formatCount(n), Math.round(n).toLocaleString('en-US'));
  assert.equal(formatBytes(2_450_000), '2.3 MB');
  assert.equal(formatBytes(512), '512 B');
});
