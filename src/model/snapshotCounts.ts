// Pure: per-type counts of a V8 heap snapshot in the agent's Python.getObjectCounts shape, so the
// Heap view and `workerlens heap` read Node workers (which have no cheap count) like Python ones.
import type { GetObjectCountsResult } from '../protocol/agent';
import type { HeapSnapshot } from './heapSnapshot';
import { ClassSummary, summarizeByClass } from './summary';

/** Counts and shallow sizes by class name (module ''); `pauseMs` is what taking the snapshot cost. */
export function objectCountsOfSnapshot(snap: HeapSnapshot, pauseMs: number, timestamp = Date.now() / 1000): GetObjectCountsResult {
  return objectCountsOfSummary(summarizeByClass(snap), snap.nodeCount, pauseMs, timestamp);
}

/** The same from a per-class summary (what the heap worker thread answers). */
export function objectCountsOfSummary(rows: readonly ClassSummary[], nodeCount: number, pauseMs: number, timestamp = Date.now() / 1000): GetObjectCountsResult {
  let totalSize = 0;
  for (const r of rows) totalSize += r.selfSize;
  return { counts: rows.map(r => ({ type: r.className, module: '', count: r.count, size: r.selfSize })), totalObjects: nodeCount, totalSize, pauseMs, timestamp };
}
