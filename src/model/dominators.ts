// Dominator tree and retained sizes: Lengauer–Tarjan semidominators with path compression, then
// idoms by the semi-NCA walk (Georgiadis), all iterative over typed arrays. Weak edges are ignored;
// shortcut edges count only from the root (elsewhere they duplicate a real path, as in DevTools).
import type { HeapSnapshot } from './heapSnapshot';
import { noStep, Step, STEP_EVERY } from './progress';

export const NO_DOMINATOR = 0xffffffff;

export interface Dominators {
  /** Immediate dominator ordinal per node; the root dominates itself; NO_DOMINATOR when unreachable. */
  idom: Uint32Array;
  /** Self size plus everything the node dominates. Unreachable nodes retain only themselves. */
  retainedSize: Float64Array;
  /** Reachable nodes in DFS preorder from the root (dominators come before what they dominate). */
  order: Uint32Array;
}

/** True when the edge counts for reachability/domination (see file comment). */
export function isEssentialEdge(s: HeapSnapshot, from: number, e: number): boolean {
  const t = s.edgeType[e];
  return t !== s.edgeCodes.weak && (t !== s.edgeCodes.shortcut || from === 0);
}

/**
 * `step(done, total)` is called every few hundred thousand nodes (progress; throwing from it
 * cancels the computation, which is how a worker thread stops a long analysis).
 */
export function computeDominators(s: HeapSnapshot, step: Step = noStep): Dominators {
  const n = s.nodeCount;
  // done counts over the four passes: DFS, predecessors, semidominators, idoms (n each).
  const total = 4 * n;
  const first = s.firstEdge, target = s.edgeTarget, etype = s.edgeType;
  const weak = s.edgeCodes.weak, shortcut = s.edgeCodes.shortcut;

  // 1. DFS preorder numbering (1-based; 0 = unvisited) and DFS-tree parents.
  const dfn = new Uint32Array(n);
  const vertex = new Uint32Array(n + 1);
  const parent = new Uint32Array(n + 1);
  const stack = new Uint32Array(n);
  const cursor = new Uint32Array(n);
  let count = 0;
  let sp = 0;
  dfn[0] = ++count; vertex[count] = 0; stack[sp++] = 0; cursor[0] = first[0];
  while (sp > 0) {
    const u = stack[sp - 1];
    const end = first[u + 1];
    let e = cursor[u];
    let pushed = false;
    for (; e < end; e++) {
      const t = etype[e];
      if (t === weak || (t === shortcut && u !== 0)) continue;
      const v = target[e];
      if (dfn[v] !== 0) continue;
      dfn[v] = ++count; vertex[count] = v; parent[count] = dfn[u];
      if ((count & STEP_EVERY) === 0) step(count, total);
      cursor[u] = e + 1;
      cursor[v] = first[v];
      stack[sp++] = v;
      pushed = true;
      break;
    }
    if (!pushed) { cursor[u] = end; sp--; }
  }

  step(n, total);
  // 2. Predecessors of reachable nodes, in DFS numbers (CSR).
  const predStart = new Uint32Array(count + 2);
  for (let u = 0; u < n; u++) {
    const du = dfn[u];
    if (du === 0) continue;
    for (let e = first[u]; e < first[u + 1]; e++) {
      const t = etype[e];
      if (t === weak || (t === shortcut && u !== 0)) continue;
      predStart[dfn[target[e]] + 1]++;
    }
  }
  for (let k = 1; k <= count + 1; k++) predStart[k] += predStart[k - 1];
  step(1.5 * n, total);
  const preds = new Uint32Array(predStart[count + 1]);
  const fill = predStart.slice(0, count + 1);
  for (let u = 0; u < n; u++) {
    const du = dfn[u];
    if (du === 0) continue;
    for (let e = first[u]; e < first[u + 1]; e++) {
      const t = etype[e];
      if (t === weak || (t === shortcut && u !== 0)) continue;
      preds[fill[dfn[target[e]]]++] = du;
    }
  }

  step(2 * n, total);
  // 3. Semidominators (processing in reverse preorder) with a compressed ancestor forest.
  const semi = new Uint32Array(count + 1);
  const label = new Uint32Array(count + 1);
  const ancestor = new Uint32Array(count + 1);
  const cstack = new Uint32Array(count + 1);
  for (let k = 1; k <= count; k++) { semi[k] = k; label[k] = k; }
  for (let w = count; w >= 2; w--) {
    if ((w & STEP_EVERY) === 0) step(2 * n + (count - w) * (n / count), total);
    let sw = semi[w];
    for (let p = predStart[w]; p < predStart[w + 1]; p++) {
      const v = preds[p];
      let u = v;
      if (ancestor[v] !== 0) {
        // compress(v), iteratively: climb to the forest root, then fix labels top-down.
        let csp = 0, x = v;
        while (ancestor[ancestor[x]] !== 0) { cstack[csp++] = x; x = ancestor[x]; }
        while (csp > 0) {
          x = cstack[--csp];
          const a = ancestor[x];
          if (semi[label[a]] < semi[label[x]]) label[x] = label[a];
          ancestor[x] = ancestor[a];
        }
        u = label[v];
      }
      if (semi[u] < sw) sw = semi[u];
    }
    semi[w] = sw;
    ancestor[w] = parent[w];
  }

  step(3 * n, total);
  // 4. idom = nearest common ancestor of parent and semidominator (semi-NCA).
  const idomDfn = new Uint32Array(count + 1);
  idomDfn[1] = 1;
  for (let w = 2; w <= count; w++) {
    let d = parent[w];
    const sw = semi[w];
    while (d > sw) d = idomDfn[d];
    idomDfn[w] = d;
  }

  const idom = new Uint32Array(n).fill(NO_DOMINATOR);
  const retained = new Float64Array(n);
  const self = s.nodeSelfSize;
  for (let i = 0; i < n; i++) retained[i] = self[i];
  for (let w = 1; w <= count; w++) idom[vertex[w]] = vertex[idomDfn[w]];
  for (let w = count; w >= 2; w--) retained[vertex[idomDfn[w]]] += retained[vertex[w]];
  step(total, total);
  return { idom, retainedSize: retained, order: vertex.slice(1, count + 1) };
}

/**
 * Retained size per class: the sum over instances not dominated by another instance of the same
 * class (so a linked list's nodes are not counted once per link). Walks the dominator tree once.
 */
export function classRetainedSizes(s: HeapSnapshot, d: Dominators): Float64Array {
  const n = s.nodeCount;
  const out = new Float64Array(s.classNames.length);
  // children lists of the dominator tree (CSR)
  const start = new Uint32Array(n + 1);
  for (let i = 1; i < n; i++) { const p = d.idom[i]; if (p !== NO_DOMINATOR && p !== i) start[p + 1]++; }
  for (let i = 0; i < n; i++) start[i + 1] += start[i];
  const kids = new Uint32Array(start[n]);
  const fill = start.slice(0, n);
  for (let i = 1; i < n; i++) { const p = d.idom[i]; if (p !== NO_DOMINATOR && p !== i) kids[fill[p]++] = i; }
  const active = new Uint32Array(s.classNames.length);
  const stack = new Uint32Array(n);
  const cursor = new Uint32Array(n);
  let sp = 0;
  const enter = (v: number) => {
    const c = s.nodeClass[v];
    if (active[c] === 0) out[c] += d.retainedSize[v];
    active[c]++;
    stack[sp++] = v; cursor[v] = start[v];
  };
  enter(0);
  while (sp > 0) {
    const u = stack[sp - 1];
    if (cursor[u] < start[u + 1]) { enter(kids[cursor[u]++]); continue; }
    active[s.nodeClass[u]]--;
    sp--;
  }
  // unreachable nodes retain only themselves
  for (let i = 0; i < n; i++) if (d.idom[i] === NO_DOMINATOR) out[s.nodeClass[i]] += s.nodeSelfSize[i];
  return out;
}
