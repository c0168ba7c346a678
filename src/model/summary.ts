// Per-class summary of one snapshot (count, self size, retained size) and the comparison of two
// snapshots by node id: which objects of each class are new in B and still alive, which are gone.
import type { HeapSnapshot } from './heapSnapshot';
import { classRetainedSizes, Dominators } from './dominators';

export interface ClassSummary {
  className: string;
  count: number;
  selfSize: number;
  /** Present when dominators were computed. */
  retainedSize?: number;
}

/** Classes by count, largest first. Pass dominators to get retained sizes too. */
export function summarizeByClass(s: HeapSnapshot, dom?: Dominators): ClassSummary[] {
  const k = s.classNames.length;
  const count = new Float64Array(k), self = new Float64Array(k);
  for (let i = 0; i < s.nodeCount; i++) { const c = s.nodeClass[i]; count[c]++; self[c] += s.nodeSelfSize[i]; }
  const retained = dom ? classRetainedSizes(s, dom) : null;
  const out: ClassSummary[] = [];
  for (let c = 0; c < k; c++) {
    if (count[c] === 0) continue;
    const row: ClassSummary = { className: s.classNames[c], count: count[c], selfSize: self[c] };
    if (retained) row.retainedSize = retained[c];
    out.push(row);
  }
  return out.sort((a, b) => b.count - a.count || a.className.localeCompare(b.className));
}

/** Class name → count, the form the growth analysis takes. */
export function countsByClass(s: HeapSnapshot): Map<string, number> {
  const counts = new Float64Array(s.classNames.length);
  for (let i = 0; i < s.nodeCount; i++) counts[s.nodeClass[i]]++;
  const out = new Map<string, number>();
  s.classNames.forEach((name, c) => { if (counts[c] > 0) out.set(name, counts[c]); });
  return out;
}

export interface ClassDiff {
  className: string;
  /** Objects in B whose id is not in A: allocated since A and still alive. */
  added: number;
  /** Objects in A whose id is not in B: freed since A. */
  removed: number;
  countDelta: number;
  addedSize: number;
  removedSize: number;
  sizeDelta: number;
}

function sortedIds(s: HeapSnapshot): Uint32Array {
  return s.nodeId.slice().sort();
}

function contains(sorted: Uint32Array, id: number): boolean {
  let lo = 0, hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid];
    if (v === id) return true;
    if (v < id) lo = mid + 1; else hi = mid - 1;
  }
  return false;
}

/** Ordinals of B's nodes whose ids A does not have (new since A, still alive in B). */
export function newNodes(a: HeapSnapshot, b: HeapSnapshot): Uint32Array {
  const ids = sortedIds(a);
  const out: number[] = [];
  for (let i = 0; i < b.nodeCount; i++) if (!contains(ids, b.nodeId[i])) out.push(i);
  return Uint32Array.from(out);
}

/** Per-class comparison of A (earlier) and B (later) by node id; classes with changes, largest |countDelta| first. */
export function compareSnapshots(a: HeapSnapshot, b: HeapSnapshot): ClassDiff[] {
  const rows = new Map<string, ClassDiff>();
  const row = (name: string) => {
    let r = rows.get(name);
    if (!r) { r = { className: name, added: 0, removed: 0, countDelta: 0, addedSize: 0, removedSize: 0, sizeDelta: 0 }; rows.set(name, r); }
    return r;
  };
  const aIds = sortedIds(a), bIds = sortedIds(b);
  for (let i = 0; i < b.nodeCount; i++) {
    if (contains(aIds, b.nodeId[i])) continue;
    const r = row(b.className(i)); r.added++; r.addedSize += b.nodeSelfSize[i];
  }
  for (let i = 0; i < a.nodeCount; i++) {
    if (contains(bIds, a.nodeId[i])) continue;
    const r = row(a.className(i)); r.removed++; r.removedSize += a.nodeSelfSize[i];
  }
  for (const r of rows.values()) { r.countDelta = r.added - r.removed; r.sizeDelta = r.addedSize - r.removedSize; }
  return [...rows.values()].sort((x, y) => Math.abs(y.countDelta) - Math.abs(x.countDelta) || x.className.localeCompare(y.className));
}
