import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isWebviewToHostMessage, validateRetainerGraph, validateTimelineState, WEBVIEW_PROTOCOL_VERSION } from '../../../src/protocol/webview';
import { leakyGraph, syntheticGraph } from './graphFixtures';

test('fixtures are valid retainer graphs', () => {
  assert.equal(validateRetainerGraph(leakyGraph()), undefined);
  assert.equal(validateRetainerGraph(syntheticGraph(1000)), undefined);
});

test('validateRetainerGraph names the problem in one line', () => {
  assert.equal(validateRetainerGraph(null), 'retainer graph is not an object');
  const g = leakyGraph();
  g.paths[0].nodeIds = ['1', '19'];
  assert.equal(validateRetainerGraph(g), 'path p1 steps 1 -> 19 without an edge');
  const h = leakyGraph();
  h.edges.push({ from: '1', to: 'nope', label: 'x', edgeType: 'property' });
  assert.equal(validateRetainerGraph(h), 'edge 1 -> nope names a node that is not in nodes');
  const d = leakyGraph();
  d.nodes.push({ ...d.nodes[0] });
  assert.equal(validateRetainerGraph(d), 'retainer graph has two nodes with id 1');
  const s = leakyGraph();
  s.nodes[0].source = { file: 'x.py', line: 0 };
  assert.match(validateRetainerGraph(s)!, /1-based line/);
});

test('webview messages: accepted shapes and rejected junk', () => {
  assert.ok(isWebviewToHostMessage({ type: 'ready', panel: 'retainers', protocolVersion: WEBVIEW_PROTOCOL_VERSION }));
  assert.ok(isWebviewToHostMessage({ type: 'retainers/openSource', nodeId: '1', location: { file: '/a.py', line: 3 } }));
  assert.ok(isWebviewToHostMessage({ type: 'retainers/saveSnapshot' }));
  assert.ok(isWebviewToHostMessage({ type: 'retainers/toggle', id: 'more:1', expanded: true }));
  assert.ok(!isWebviewToHostMessage({ type: 'retainers/openSource', nodeId: '1', location: { file: '', line: 3 } }));
  assert.ok(!isWebviewToHostMessage({ type: 'ready', panel: 'other', protocolVersion: 1 }));
  assert.ok(!isWebviewToHostMessage({ type: 'rm -rf' }));
  assert.ok(!isWebviewToHostMessage('ready'));
});

test('validateTimelineState', () => {
  assert.equal(validateTimelineState({ workers: [{ id: '1', label: 'w' }], samples: [{ workerId: '1', t: 1, rss: 5 }], markers: [{ t: 1, name: 'tasks.leak' }] }), undefined);
  assert.equal(validateTimelineState({ workers: [], samples: [{ workerId: '1', t: 'x' }], markers: [] }), 'timeline sample lacks workerId or t (epoch ms)');
  assert.equal(validateTimelineState({ workers: [], samples: [], markers: [{ t: 1 }] }), 'timeline marker lacks t (epoch ms) or name');
});
