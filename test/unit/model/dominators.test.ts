import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSnapshot, NodeSpec, EdgeSpec } from './snapshotBuilder';
import { parseHeapSnapshot, HeapSnapshot } from '../../../src/model/heapSnapshot';
import { computeDominators, NO_DOMINATOR, classRetainedSizes, isEssentialEdge } from '../../../src/model/dominators';

function snap(edges: [number, number, string?][], n: number, sizes?: number[], names?: string[]): HeapSnapshot {
  const nodes: NodeSpec[] = [];
  for (let i = 0; i < n; i++) nodes.push({ type: i === 0 ? 'synthetic' : 'object', name: names?.[i] ?? `N${i}`, size: sizes?.[i] ?? 1, edges: [] });
  for (const [a, b, t] of edges) (nodes[a].edges as EdgeSpec[]).push([t ?? 'property', `e${a}_${b}`, b]);
  return parseHeapSnapshot(buildSnapshot(nodes));
}

test('diamond: the join is dominated by the fork, retained sizes add up', () => {
  //   0 → 1 → {2, 3} → 4
  const s = snap([[0, 1], [1, 2], [1, 3], [2, 4], [3, 4]], 5, [0, 1, 10, 20, 100]);
  const d = computeDominators(s);
  assert.deepEqual([...d.idom], [0, 0, 1, 1, 1]);
  assert.deepEqual([...d.retainedSize], [131, 131, 10, 20, 100]);
});

test('cycles: a loop back to an ancestor does not change dominators', () => {
  // 0 → 1 → 2 → 3 → 1 ; 2 → 4 ; 4 → 2
  const s = snap([[0, 1], [1, 2], [2, 3], [3, 1], [2, 4], [4, 2]], 5);
  const d = computeDominators(s);
  assert.deepEqual([...d.idom], [0, 0, 1, 2, 2]);
  assert.equal(d.retainedSize[1], 4);
});

test('weak-only retainers do not dominate and weakly held nodes are unreachable', () => {
  // 0 → 1 → 2 ; 0 → 3 -weak→ 2 ; 3 -weak→ 4 (4 held only weakly)
  const s = snap([[0, 1], [1, 2], [0, 3], [3, 2, 'weak'], [3, 4, 'weak']], 5, [0, 1, 5, 1, 7]);
  const d = computeDominators(s);
  assert.equal(d.idom[2], 1);
  assert.equal(d.idom[4], NO_DOMINATOR);
  assert.equal(d.retainedSize[1], 6);
  assert.equal(d.retainedSize[4], 7);
  assert.equal(d.retainedSize[0], 7); // 1+5+1, not the weakly held 7
});

test('unreachable nodes (and what only they reach) have no dominator', () => {
  const s = snap([[0, 1], [2, 3], [3, 1]], 4);
  const d = computeDominators(s);
  assert.deepEqual([...d.idom], [0, 0, NO_DOMINATOR, NO_DOMINATOR]);
  assert.equal(d.order.length, 2);
});

test('shortcut edges count only from the root', () => {
  const s = snap([[0, 1], [1, 2], [0, 3], [3, 2, 'shortcut']], 4);
  assert.equal(computeDominators(s).idom[2], 1);
  const t = snap([[0, 1], [1, 2], [0, 2, 'shortcut']], 3);
  assert.equal(computeDominators(t).idom[2], 0);
});

test('class retained size does not double count instances dominated by the same class', () => {
  // linked list 1 → 2 → 3 of class Link (sizes 1, 2, 4) plus a Leaf under 3
  const s = snap([[0, 1], [1, 2], [2, 3], [3, 4]], 5, [0, 1, 2, 4, 8], ['', 'Link', 'Link', 'Link', 'Leaf']);
  const d = computeDominators(s);
  const r = classRetainedSizes(s, d);
  assert.equal(r[s.classNames.indexOf('Link')], 15);
  assert.equal(r[s.classNames.indexOf('Leaf')], 8);
});

/** Dominators by definition: d dominates v when v cannot be reached from the root avoiding d. */
function bruteIdom(s: HeapSnapshot): number[] {
  const n = s.nodeCount;
  const reach = (skip: number) => {
    const seen = new Uint8Array(n);
    if (skip === 0) return seen;
    const stack = [0]; seen[0] = 1;
    while (stack.length) {
      const u = stack.pop() as number;
      for (let e = s.firstEdge[u]; e < s.firstEdge[u + 1]; e++) {
        if (!isEssentialEdge(s, u, e)) continue;
        const v = s.edgeTarget[e];
        if (v !== skip && !seen[v]) { seen[v] = 1; stack.push(v); }
      }
    }
    return seen;
  };
  const all = reach(-1);
  const doms: Set<number>[] = [];
  for (let v = 0; v < n; v++) doms.push(new Set());
  for (let d = 0; d < n; d++) {
    const r = reach(d);
    for (let v = 0; v < n; v++) if (v !== d && all[v] && !r[v]) doms[v].add(d);
  }
  return doms.map((ds, v) => {
    if (v === 0) return 0;
    if (!all[v]) return NO_DOMINATOR;
    for (const d of ds) if ([...ds].every(o => o === d || doms[d].has(o))) return d;
    throw new Error('no idom');
  });
}

test('matches the definition on 300 random graphs with cycles, weak and unreachable parts', () => {
  let seed = 12345;
  const rnd = (k: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % k; };
  for (let round = 0; round < 300; round++) {
    const n = 2 + rnd(25);
    const edges: [number, number, string?][] = [];
    const m = rnd(n * 3);
    for (let k = 0; k < m; k++) edges.push([rnd(n), rnd(n), rnd(6) === 0 ? 'weak' : rnd(8) === 0 ? 'shortcut' : 'property']);
    const s = snap(edges, n);
    assert.deepEqual([...computeDominators(s).idom], bruteIdom(s), `round ${round}: ${JSON.stringify(edges)}`);
  }
});
