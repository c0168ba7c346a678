import { test } from 'node:test';
import assert from 'node:assert/strict';
import { layoutRetainers, moreId, MORE_PATHS_ID, truncateMiddle, edgeGeometry, DEFAULT_LAYOUT } from '../../../src/webview/retainersLayout';
import type { RetainerGraph } from '../../../src/protocol/webview';
import { leakyGraph, syntheticGraph } from './graphFixtures';

const noOverlap = (layout: ReturnType<typeof layoutRetainers>) => {
  for (const layer of layout.layers) {
    const ys = layer.map(id => layout.byId.get(id)!.y);
    for (let i = 1; i < ys.length; i++) assert.ok(ys[i] >= ys[i - 1] + DEFAULT_LAYOUT.nodeHeight, `layer rows overlap: ${ys[i - 1]} then ${ys[i]}`);
  }
};

test('leaky graph: roots in layer 0, every edge reads left to right, targets carry instance counts', () => {
  const layout = layoutRetainers(leakyGraph());
  assert.equal(layout.nodes.length, 10);
  assert.equal(layout.edges.length, 7);
  for (const n of layout.nodes) if (n.node?.rootKind) assert.equal(n.layer, 0, `${n.id} is a root`);
  for (const e of layout.edges) assert.ok(layout.byId.get(e.to)!.x > layout.byId.get(e.from)!.x, `${e.from}->${e.to} goes backwards`);
  assert.equal(layout.byId.get('3')!.instances, 800);
  assert.equal(layout.byId.get('19')!.layer, 3);
  const storage = layout.edges.find(e => e.from === '1' && e.to === '3')!;
  assert.equal(storage.label, '[17]');
  assert.equal(storage.instances, 800);
  assert.equal(layout.byId.get('1')!.paths, 2);
  assert.deepEqual(layout.stats, { totalNodes: 10, shownNodes: 10, totalPaths: 4, shownPaths: 4, hiddenPaths: 0, hiddenInstances: 0 });
  noOverlap(layout);
});

test('paths sharing a prefix share nodes and edges; edge counts add up', () => {
  const g: RetainerGraph = {
    targetType: 'T', instanceCount: 30,
    nodes: ['r', 'a', 'b', 'c'].map(id => ({ id, type: 'x', label: id, selfSize: 1, retainedSize: 1, ...(id === 'r' ? { rootKind: 'module' as const } : {}) })),
    edges: [{ from: 'r', to: 'a', label: 'a', edgeType: 'property' }, { from: 'a', to: 'b', label: '[0]', edgeType: 'element' }, { from: 'a', to: 'c', label: '[1]', edgeType: 'element' }],
    paths: [{ id: 'p', nodeIds: ['r', 'a', 'b'], instanceCount: 10, exampleLabels: [] }, { id: 'q', nodeIds: ['r', 'a', 'c'], instanceCount: 20, exampleLabels: [] }],
  };
  const l = layoutRetainers(g);
  assert.equal(l.nodes.length, 4);
  assert.equal(l.edges.find(e => e.from === 'r')!.instances, 30);
  assert.equal(l.edges.find(e => e.to === 'c')!.instances, 20);
  // the bigger cluster comes first (above)
  assert.ok(l.byId.get('c')!.y < l.byId.get('b')!.y);
  assert.deepEqual(l.succs.get('a'), ['c', 'b']);
  assert.deepEqual(l.preds.get('b'), ['a']);
});

test('collapsing a node cuts the paths through it and counts what it hides', () => {
  const l = layoutRetainers(leakyGraph(), { collapsed: ['15'], pages: {} });
  assert.ok(!l.byId.has('17') && !l.byId.has('19'));
  assert.deepEqual(l.byId.get('15')!.hiddenBehind, { paths: 1, instances: 12 });
  assert.equal(l.pathStatus.get('p4'), 'cut');
  assert.equal(l.pathStatus.get('p1'), 'full');
});

test('fan-out over the limit folds into a "+N more" group that expands by pages', () => {
  const g = wideGraph(30);
  const l = layoutRetainers(g, { collapsed: [], pages: {} }, { ...DEFAULT_LAYOUT, fanLimit: 8 });
  const more = l.byId.get(moreId('list'))!;
  assert.equal(more.kind, 'more');
  assert.equal(more.more!.paths, 22);
  assert.equal(more.more!.parentId, 'list');
  assert.equal(l.succs.get('list')!.length, 9); // 8 children + the group
  assert.ok(l.succs.get('list')!.includes(moreId('list')));
  // biggest clusters are the ones shown
  assert.ok(l.byId.has('t0') && l.byId.has('t7') && !l.byId.has('t8'));
  const l2 = layoutRetainers(g, { collapsed: [], pages: { [moreId('list')]: 1 } }, { ...DEFAULT_LAYOUT, fanLimit: 8 });
  assert.equal(l2.byId.get(moreId('list'))!.more!.paths, 14);
  const l4 = layoutRetainers(g, { collapsed: [], pages: { [moreId('list')]: 3 } }, { ...DEFAULT_LAYOUT, fanLimit: 8 });
  assert.ok(!l4.byId.has(moreId('list')));
  assert.equal(l4.nodes.length, 31);
  noOverlap(l4);
});

test('5,000 nodes: only the node budget is drawn, the rest is one "+N more paths" group', () => {
  const g = syntheticGraph(5000);
  const l = layoutRetainers(g);
  assert.ok(l.stats.shownNodes <= DEFAULT_LAYOUT.nodeBudget, `${l.stats.shownNodes} drawn`);
  assert.ok(l.stats.hiddenPaths > 0);
  const more = l.byId.get(MORE_PATHS_ID)!;
  assert.equal(more.more!.paths, l.stats.hiddenPaths);
  assert.equal(more.y, Math.max(...l.nodes.map(n => n.y)), 'the global group is the last row');
  assert.equal(l.layers[0][l.layers[0].length - 1], MORE_PATHS_ID);
  assert.equal(l.stats.shownPaths + l.stats.hiddenPaths, g.paths.length);
  const l2 = layoutRetainers(g, { collapsed: [], pages: { [MORE_PATHS_ID]: 1 } });
  assert.ok(l2.stats.shownNodes > l.stats.shownNodes && l2.stats.shownNodes <= 2 * DEFAULT_LAYOUT.nodeBudget);
  noOverlap(l);
  for (const e of l.edges) assert.ok(l.byId.get(e.to)!.layer > l.byId.get(e.from)!.layer);
});

test('a cycle across two paths still lays out every node (back edge drawn looping)', () => {
  const g: RetainerGraph = {
    targetType: 'T', instanceCount: 2,
    nodes: ['r', 'a', 'b', 't1', 't2'].map(id => ({ id, type: 'x', label: id, selfSize: 1, retainedSize: 1 })),
    edges: [{ from: 'r', to: 'a', label: 'a', edgeType: 'property' }, { from: 'a', to: 'b', label: 'b', edgeType: 'property' }, { from: 'b', to: 'a', label: 'back', edgeType: 'property' },
      { from: 'b', to: 't1', label: 't', edgeType: 'property' }, { from: 'a', to: 't2', label: 't', edgeType: 'property' }],
    paths: [{ id: 'p', nodeIds: ['r', 'a', 'b', 't1'], instanceCount: 1, exampleLabels: [] }, { id: 'q', nodeIds: ['r', 'b', 'a', 't2'], instanceCount: 1, exampleLabels: [] }],
  };
  g.edges.push({ from: 'r', to: 'b', label: 'b', edgeType: 'property' });
  const l = layoutRetainers(g);
  assert.equal(l.nodes.length, 5);
  for (const n of l.nodes) assert.ok(Number.isFinite(n.x) && Number.isFinite(n.y), `${n.id} placed`);
  assert.ok(l.edges.some(e => e.d.includes('C') && l.byId.get(e.to)!.x <= l.byId.get(e.from)!.x));
});

test('empty graph lays out nothing', () => {
  const l = layoutRetainers({ targetType: 'T', instanceCount: 0, nodes: [], edges: [], paths: [] });
  assert.equal(l.nodes.length, 0);
  assert.equal(l.width, 0);
});

test('truncateMiddle and edgeGeometry', () => {
  assert.equal(truncateMiddle('short', 10), 'short');
  assert.equal(truncateMiddle("_sessions['user-9-very-long-key']", 15), "_sessio…g-key']");
  assert.equal(truncateMiddle("_sessions['user-9-very-long-key']", 15).length, 15);
  const g = edgeGeometry({ x: 0, y: 0, w: 100, h: 40 }, { x: 200, y: 100, w: 100, h: 40 });
  assert.equal(g.d, 'M100,20C150,20 150,120 200,120');
  assert.deepEqual([g.labelX, g.labelY], [165.8, 98.4]);
});

function wideGraph(n: number): RetainerGraph {
  const g: RetainerGraph = { targetType: 'Payload', instanceCount: 0, nodes: [{ id: 'list', type: 'list', label: 'leaky_storage', selfSize: 1, retainedSize: 1, rootKind: 'global' }], edges: [], paths: [] };
  for (let i = 0; i < n; i++) {
    g.nodes.push({ id: `t${i}`, type: 'Payload', label: `Payload@${i}`, selfSize: 56, retainedSize: 56, isTarget: true });
    g.edges.push({ from: 'list', to: `t${i}`, label: `[${i}]`, edgeType: 'element' });
    g.paths.push({ id: `p${i}`, nodeIds: ['list', `t${i}`], instanceCount: 1000 - i, exampleLabels: [] });
    g.instanceCount += 1000 - i;
  }
  return g;
}
