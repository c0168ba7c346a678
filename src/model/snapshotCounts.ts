// Pure: per-type counts of a V8 heap snapshot in the agent's Python.getObjectCounts shape, so the
// Heap view and `workerlens heap` read Node workers (which have no cheap count) like Python ones.
import type { GetObjectCountsResult, ObjectCount } from '../protocol/agent';
import type { HeapSnapshot } from './heapSnapshot';

/** Counts and shallow sizes by class name (module ''); `pauseMs` is what taking the snapshot cost. */
export function objectCountsOfSnapshot(snap: HeapSnapshot, pauseMs: number, timestamp = Date.now() / 1000): GetObjectCountsResult {
  const counts = new Float64Array(snap.classNames.length);
  const sizes = new Float64Array(snap.classNames.length);
  for (let i = 0; i < snap.nodeCount; i++) {
    const c = snap.nodeClass[i];
    counts[c]++;
    sizes[c] += snap.nodeSelfSize[i];
  }
  const rows: ObjectCount[] = [];
  let totalSize = 0;
  snap.classNames.forEach((type, c) => {
    if (counts[c] === 0) return;
    rows.push({ type, module: '', count: counts[c], size: sizes[c] });
    totalSize += sizes[c];
  });
  return { counts: rows, totalObjects: snap.nodeCount, totalSize, pauseMs, timestamp };
}
