import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { buildSnapshot } from './snapshotBuilder';
import { parseHeapSnapshot } from '../../../src/model/heapSnapshot';
import { HeapAnalysis } from '../../../src/model/leakReport';
import { buildRetainerGraph, findDefinitionLine } from '../../../src/model/retainerGraph';
import { validateRetainerGraph } from '../../../src/protocol/webview';

// Python layout (src/protocol/snapshot.ts): root → (modules) → module `tasks` → leaky_storage list → Payloads.
function pythonHeap(): HeapAnalysis {
  const payloads = [5, 6, 7];
  return new HeapAnalysis(parseHeapSnapshot(buildSnapshot([
    { type: 'synthetic', name: '', edges: [['element', 1, 1]] },                                    // 0 root
    { type: 'synthetic', name: '(modules)', edges: [['property', 'tasks', 2]] },                    // 1
    { type: 'object', name: 'module', edges: [['property', 'leaky_storage', 3], ['property', '__file__', 4]] }, // 2
    { type: 'object', name: 'list', size: 100, edges: payloads.map((p, i): ['element', number, number] => ['element', i, p]) }, // 3
    { type: 'string', name: '/app/tasks.py' },                                                       // 4
    ...payloads.map(() => ({ type: 'object', name: 'Payload', size: 48 })),                          // 5..7
  ])));
}

test('a module global becomes one root named like the code, with its file for "open definition"', () => {
  const { graph, definitions } = buildRetainerGraph(pythonHeap(), 'Payload', { source: 'worker 1' });
  assert.equal(validateRetainerGraph(graph), undefined);
  assert.equal(graph.instanceCount, 3);
  const root = graph.nodes.find(n => n.rootKind)!;
  assert.deepEqual([root.label, root.type, root.rootKind], ['leaky_storage', 'list', 'module']);
  assert.equal(root.retainedSize, 100 + 3 * 48);
  assert.deepEqual(definitions, [{ nodeId: root.id, file: '/app/tasks.py', name: 'leaky_storage' }]);
  assert.equal(graph.paths.length, 1);
  assert.equal(graph.paths[0].instanceCount, 3);
  assert.equal(graph.paths[0].exampleLabels[0].replace(/\[\d+\]$/, '[i]'), 'tasks.leaky_storage[i]');
  const target = graph.nodes.find(n => n.isTarget)!;
  assert.equal(target.type, 'Payload');
  assert.equal(target.dominatorId, root.id);
  const edge = graph.edges.find(e => e.from === root.id && e.to === target.id)!;
  assert.match(edge.label, /^\[\d\]$/);
});

test('definition lines: assignment, annotated assignment, def, class; not comparisons or nested names', () => {
  const src = 'import os\n\nclass Payload:\n    leaky_storage = 1\nleaky_storage: list = []\ndef leak():\n    pass\nx == 1\n';
  assert.equal(findDefinitionLine(src, 'leaky_storage'), 5);
  assert.equal(findDefinitionLine(src, 'Payload'), 3);
  assert.equal(findDefinitionLine(src, 'leak'), 6);
  assert.equal(findDefinitionLine(src, 'x'), null);
  assert.equal(findDefinitionLine(src, 'missing'), null);
});
