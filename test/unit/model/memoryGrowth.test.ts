import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { largestGrowth, memoryChange, partLines, poolDescription, poolState } from '../../../src/model/memoryGrowth';
import { histogramRows, taskMemory } from '../../../src/model/taskMemory';
import { leakingChildren, type Verdict } from '../../../src/model/memoryVerdict';
import type { MemoryPart } from '../../../src/protocol/agent';

const MB = 1 << 20;
const part = (key: MemoryPart['key'], bytes: number | null, how: MemoryPart['how'] = 'estimated', reason?: string): MemoryPart =>
  ({ key, label: key, bytes, how, source: bytes === null ? null : 'test', ...(reason ? { reason } : {}) });
const verdict = (kind: Verdict['kind']): Verdict => ({ kind, headline: kind, next: 'n', details: [] });

test('memoryChange: parts known in both samples, largest growth first; unavailable parts listed with the reason', () => {
  const a = { timestamp: 100, rssBytes: 100 * MB, parts: [part('fileBacked', 20 * MB, 'exact'), part('nativeOther', 30 * MB), part('mallocFree', null, 'unavailable', 'malloc is jemalloc here')] };
  const b = { timestamp: 110, rssBytes: 130 * MB, parts: [part('fileBacked', 20 * MB, 'exact'), part('nativeOther', 60 * MB), part('mallocFree', null, 'unavailable', 'malloc is jemalloc here')] };
  const c = memoryChange([a, b]);
  assert.ok(c);
  assert.equal(c.rssDelta, 30 * MB);
  assert.equal(c.seconds, 10);
  assert.deepEqual(c.parts.map(p => [p.key, p.deltaBytes, p.how]), [['nativeOther', 30 * MB, 'estimated'], ['fileBacked', 0, 'exact']]);
  assert.deepEqual(c.unavailable, [{ label: 'mallocFree', reason: 'malloc is jemalloc here' }]);
  assert.equal(largestGrowth(c)?.key, 'nativeOther');
  assert.match(partLines(c)[0], /^\+30\.0 MB {2}nativeOther \(estimated; 30\.0 MB → 60\.0 MB\)$/);
  assert.equal(partLines(c).at(-1), 'n/a  mallocFree: malloc is jemalloc here');
  assert.equal(poolDescription(c, verdict('native')), 'RSS 130 MB · +30.0 MB in 10 s · grows');
  assert.equal(largestGrowth(memoryChange([a, a])), null, 'nothing grew');
  assert.equal(memoryChange([]), null);
});

test('poolState and leakingChildren: only children whose verdict says they grow', () => {
  assert.equal(poolState(verdict('container')), 'grows');
  assert.equal(poolState(verdict('quiet')), 'no steady growth');
  assert.equal(poolState(verdict('fragmentation')), 'fragmented');
  const procs = [
    { label: 'main', pid: 1, role: 'main' as const, verdict: verdict('objects') },
    { label: 'c1', pid: 2, role: 'child' as const, verdict: verdict('quiet') },
    { label: 'c2', pid: 3, role: 'child' as const, verdict: verdict('rss') },
  ];
  assert.deepEqual(leakingChildren(procs).map(p => p.pid), [3]);
});

test('histogramRows: non-empty buckets with their bounds; taskMemory says on how many runs RSS was measured', () => {
  const bounds = [-(1 << 20), -(64 << 10), 0, 4 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20];
  const counts = [1, 0, 3, 0, 0, 6, 0, 0, 0, 0, 2];
  assert.deepEqual(histogramRows(bounds, counts).map(r => [r.label, r.runs]), [
    ['−1.0 MB or less', 1], ['−64.0 KB … 0 B', 3], ['+64.0 KB … +256 KB', 6], ['above +64.0 MB', 2]]);
  assert.deepEqual(histogramRows(bounds, [1, 2]), [], 'a histogram that does not match its bounds shows nothing');
  const skewed = histogramRows(bounds, [0, 0, 223, 1, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(skewed.map(r => r.shareText), ['>99 %', '<1 %'], 'never "100 %" beside another row');
  assert.deepEqual(histogramRows(undefined, undefined), []);
  const t = { name: 'tasks.render', runs: 3000, failures: 0, totalSeconds: 1, memDeltaBytes: 120 * 1024, lastMemDeltaBytes: 0, memSampledRuns: 120, lastRunAt: 0 };
  assert.deepEqual(taskMemory(t), { measured: 120, perRunBytes: 1024, basis: 'RSS measured on 120 of 3,000 runs' });
  assert.equal(taskMemory({ ...t, memSampledRuns: undefined }).basis, 'RSS measured on every run (3,000)');
  assert.equal(taskMemory({ ...t, memSampledRuns: 0 }).perRunBytes, null);
});
