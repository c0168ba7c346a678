import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSnapshot, NodeSpec } from './snapshotBuilder';
import { parseHeapSnapshot } from '../../../src/model/heapSnapshot';
import { computeDominators } from '../../../src/model/dominators';
import { summarizeByClass, compareSnapshots, newNodes } from '../../../src/model/summary';
import { HeapAnalysis, buildLeakReport } from '../../../src/model/leakReport';
import { countsByClass } from '../../../src/model/summary';

function heap(payloadIds: number[]): NodeSpec[] {
  const nodes: NodeSpec[] = [
    { type: 'synthetic', name: '', id: 1, size: 0, edges: [['element', 0, 1]] },
    { type: 'synthetic', name: '(modules)', id: 3, size: 0, edges: [['property', 'tasks', 2]] },
    { type: 'object', name: 'module', id: 5, size: 50, edges: [['property', 'leaky_storage', 3]] },
    { type: 'object', name: 'list', id: 7, size: 56, edges: payloadIds.map((_, k) => ['element', k, 4 + k]) },
  ];
  for (const id of payloadIds) nodes.push({ type: 'object', name: 'Payload', id, size: 48, edges: [['property', 'body', nodes.length + payloadIds.length]] });
  for (const id of payloadIds) nodes.push({ type: 'string', name: `body ${id}`, id: id + 1000, size: 100 });
  return nodes;
}

test('summary by class: counts, self and retained sizes', () => {
  const s = parseHeapSnapshot(buildSnapshot(heap([101, 103])));
  const rows = summarizeByClass(s, computeDominators(s));
  const payload = rows.find(r => r.className === 'Payload');
  assert.deepEqual(payload, { className: 'Payload', count: 2, selfSize: 96, retainedSize: 296 });
  assert.equal(rows.find(r => r.className === '(string)')?.count, 2);
  assert.equal(rows.find(r => r.className === 'list')?.retainedSize, 56 + 296);
});

test('comparison by node id: new and still alive per class', () => {
  const a = parseHeapSnapshot(buildSnapshot(heap([101, 103, 105])));
  const b = parseHeapSnapshot(buildSnapshot(heap([103, 105, 107, 109])));
  const d = compareSnapshots(a, b);
  const p = d.find(r => r.className === 'Payload');
  assert.deepEqual(p && [p.added, p.removed, p.countDelta, p.sizeDelta], [2, 1, 1, 48]);
  assert.deepEqual([...newNodes(a, b)].map(i => b.nodeId[i]).sort(), [1107, 1109, 107, 109].sort());
});

test('leak report: growth from counts, paths for objects new since the first snapshot', () => {
  const a = parseHeapSnapshot(buildSnapshot(heap([101, 103])));
  const b = parseHeapSnapshot(buildSnapshot(heap([101, 103, 105, 107, 109, 111, 113, 115, 117, 119, 121, 123, 125, 127])));
  const report = buildLeakReport({
    samples: [{ timestamp: 0, counts: countsByClass(a) }, { timestamp: 4, counts: countsByClass(b) }],
    last: new HeapAnalysis(b), first: a,
  });
  assert.equal(report.suspects[0].type, 'Payload');
  assert.equal(report.suspects[0].delta, 12);
  assert.equal(report.suspects[0].paths[0].count, 12); // only the new ones
  assert.deepEqual(report.suspects[0].paths[0].labels, ['tasks', 'leaky_storage', '[2]']);
  assert.equal(report.suspects[0].paths[0].text, 'tasks.leaky_storage[2]');
  const single = buildLeakReport({ samples: [{ timestamp: 0, counts: countsByClass(b) }], last: new HeapAnalysis(b) });
  assert.equal(single.suspects[0].delta, null);
});
