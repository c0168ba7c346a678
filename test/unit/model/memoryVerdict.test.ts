import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerInfo, MemoryPart, MemoryPartKey } from '../../../src/protocol/agent';
import { memoryVerdict, MemorySample, preforkSummary, sustainedDelta } from '../../../src/model/memoryVerdict';
import { findGrowingContainers } from '../../../src/model/containerGrowth';
import { findGrowthSuspects } from '../../../src/model/growth';

const MB = 1024 * 1024;

function sample(t: number, parts: Partial<Record<MemoryPartKey, number>>, arenas = 8): MemorySample {
  const list: MemoryPart[] = Object.entries(parts).map(([key, bytes]) => ({ key: key as MemoryPartKey, label: key, bytes: bytes as number, how: 'exact', source: 'test' }));
  return { timestamp: t, rssBytes: list.reduce((a, p) => a + (p.bytes ?? 0), 0), parts: list, malloc: { how: 'exact', arenas } };
}

function container(id: number, length: number, ownedBytes: number, pathText: string | null = 'tasks._seen'): ContainerInfo {
  return { id, type: 'dict', module: 'builtins', length, tracked: false, shallowBytes: 0, ownedBytes, itemTypes: ['str'], path: pathText ? pathText.split('.') : null, pathText };
}

test('fragmentation: free memory held by malloc dominates and nothing grows', () => {
  const s = [0, 2, 4].map(t => sample(t, { fileBacked: 10 * MB, pythonTracked: 28 * MB, mallocFree: 612 * MB, nativeOther: 68 * MB }));
  const v = memoryVerdict({ samples: s });
  assert.equal(v.kind, 'fragmentation');
  assert.equal(v.headline, '612 MB of 718 MB is free memory held by malloc (fragmentation, 8 arenas); nothing grows.');
  assert.match(v.next, /MALLOC_ARENA_MAX=2.*jemalloc.*Trim now/);
});

test('native growth with no Python growth; tiny type growth does not hide it', () => {
  const s = [0, 2, 4, 6].map((t, i) => sample(t, { fileBacked: 10 * MB, pythonTracked: 20 * MB, mallocFree: 2 * MB, nativeOther: (30 + 10 * i) * MB }));
  const v = memoryVerdict({ samples: s, types: [{ type: 'PyCFuncPtrType', delta: 27, ratePerSecond: 4, builtin: false, bytesDelta: 40_000 }] });
  assert.equal(v.kind, 'native');
  assert.equal(v.headline, 'Native memory grows 5.0 MB/s and no Python type explains it: a C extension or ctypes allocation.');
  assert.deepEqual(v.details, ['Python objects grow far less: PyCFuncPtrType +27.']);
});

test('a growing container is the verdict, named by its path; the gc-untracked note is given', () => {
  const cs = [0, 2, 4].map((t, i) => ({ timestamp: t, containers: [container(7, 1000 + 5000 * i, (1 + 2 * i) * MB), container(9, 500, MB, 'tasks.static')] }));
  const growing = findGrowingContainers(cs);
  assert.deepEqual(growing.map(g => g.name), ['tasks._seen']);
  const s = [0, 2, 4].map((t, i) => sample(t, { pythonTracked: 20 * MB, pythonUntracked: (5 + 2 * i) * MB, nativeOther: 5 * MB }));
  const v = memoryVerdict({ samples: s, containers: growing });
  assert.equal(v.kind, 'container');
  assert.equal(v.headline, 'tasks._seen (dict of str) grows by 2,500 items/s, 1.0 MB/s (11,000 items, 5.0 MB now).');
  assert.match(v.details[0], /not track/);
});

test('containers: rise-and-fall, a few items or a few bytes are not suspects', () => {
  const rise = [0, 1, 2, 3].map((t, i) => ({ timestamp: t, containers: [container(1, [100, 5000, 9000, 200][i], [1, 3, 5, 1][i] * MB)] }));
  assert.deepEqual(findGrowingContainers(rise), []);
  const fewItems = [0, 1, 2].map((t, i) => ({ timestamp: t, containers: [container(1, 100 + 10 * i, (1 + i) * MB)] }));
  assert.deepEqual(findGrowingContainers(fewItems), []);
  const fewBytes = [0, 1, 2].map((t, i) => ({ timestamp: t, containers: [container(1, 100 + 100 * i, 1000 + 100 * i)] }));
  assert.deepEqual(findGrowingContainers(fewBytes), []);
  const unnamed = [0, 1].map((t, i) => ({ timestamp: t, containers: [container(255, 100 + 1000 * i, (1 + i) * MB, null)] }));
  assert.equal(findGrowingContainers(unnamed)[0].name, 'dict at 0xff (no named root within 10 hops)');
});

test('quiet: nothing grows; small jitter in RSS is not growth', () => {
  const s = [0, 2, 4, 6].map((t, i) => sample(t, { fileBacked: 10 * MB, pythonTracked: 20 * MB, nativeOther: 5 * MB + (i % 2) * 300_000 }));
  const v = memoryVerdict({ samples: s });
  assert.equal(v.kind, 'quiet');
  assert.equal(v.headline, 'Nothing grows: RSS 35.3 MB steady over 6 s (4 samples).');
});

test('the agent\'s own dozen weakrefs are below the bytes floor; a real type leak is not', () => {
  const mk = (w: number[], p: number[]) => w.map((_, i) => ({ timestamp: i, counts: new Map([['ReferenceType', w[i]], ['Payload', p[i]]]), sizes: new Map([['ReferenceType', w[i] * 72], ['Payload', p[i] * 56]]) }));
  assert.deepEqual(findGrowthSuspects(mk([800, 812, 812], [100, 600, 1100])).map(g => g.type), ['Payload']);
});

test('sustainedDelta: needs most intervals up and the gain kept', () => {
  assert.equal(sustainedDelta([1, 2, 3, 4]), 3);
  assert.equal(sustainedDelta([1, 10, 1, 1]), null);
  assert.equal(sustainedDelta([5, 4, 3]), null);
  assert.equal(sustainedDelta([null, 1, 3]), 2);
});

test('prefork summary names the leaking child and says the main is flat', () => {
  const quiet = memoryVerdict({ samples: [0, 2].map(t => sample(t, { pythonTracked: 20 * MB })) });
  const leak = { kind: 'container' as const, headline: 'tasks._seen (dict of str) grows by 100 items/s.', next: 'x', details: [] };
  const line = preforkSummary([
    { label: 'pid 1 (MainProcess)', pid: 1, role: 'main', verdict: quiet },
    { label: 'pid 2 (ForkPoolWorker-1)', pid: 2, role: 'child', verdict: quiet },
    { label: 'pid 3 (ForkPoolWorker-2)', pid: 3, role: 'child', verdict: leak },
  ]);
  assert.equal(line, 'The leak is in pool child pid 3 (ForkPoolWorker-2): tasks._seen (dict of str) grows by 100 items/s. The main process is flat (no task runs there).');
  assert.equal(preforkSummary([{ label: 'p', pid: 1, role: 'process', verdict: quiet }]), null);
});
