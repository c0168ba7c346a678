// Pure: turns a CDP SamplingHeapProfile (tracemalloc in the Python agent, V8's sampler in Node)
// into allocation sites — file:line with live bytes and blocks — and their growth since a baseline.
import type { SamplingHeapProfile, SamplingHeapProfileNode } from '../protocol/cdp';

export type { SamplingHeapProfile } from '../protocol/cdp';

export interface AllocationSite {
  key: string;           // "url:line" (0-based line)
  url: string;
  lineNumber: number;    // 0-based, as CDP
  functionName: string;
  bytes: number;
  blocks: number;
  /** bytes − baseline bytes at the same site (the whole amount for a new site). */
  bytesDelta: number;
  blocksDelta: number;
}

/** Live bytes/blocks per allocating line: a node's selfSize belongs to its own frame (the innermost). */
export function allocationSites(profile: SamplingHeapProfile): Map<string, AllocationSite> {
  const blocksByNode = new Map<number, number>();
  for (const s of profile.samples) blocksByNode.set(s.nodeId, (blocksByNode.get(s.nodeId) ?? 0) + (s.count ?? 1));
  const out = new Map<string, AllocationSite>();
  const stack: SamplingHeapProfileNode[] = [profile.head];
  while (stack.length) {
    const n = stack.pop()!;
    for (const c of n.children) stack.push(c);
    if (n.selfSize <= 0 || !n.callFrame.url) continue;
    const key = `${n.callFrame.url}:${n.callFrame.lineNumber}`;
    const site = out.get(key) ?? { key, url: n.callFrame.url, lineNumber: n.callFrame.lineNumber, functionName: n.callFrame.functionName, bytes: 0, blocks: 0, bytesDelta: 0, blocksDelta: 0 };
    site.bytes += n.selfSize;
    site.blocks += blocksByNode.get(n.id) ?? 0;
    out.set(key, site);
  }
  return out;
}

export type AllocationSort = 'bytes' | 'growth';

/** Sites with deltas against `baseline` (null: no baseline, deltas = totals), largest first. */
export function compareAllocations(current: Map<string, AllocationSite>, baseline: Map<string, AllocationSite> | null, sort: AllocationSort, limit = 50): AllocationSite[] {
  const rows = [...current.values()].map(s => {
    const b = baseline?.get(s.key);
    return { ...s, bytesDelta: s.bytes - (b?.bytes ?? 0), blocksDelta: s.blocks - (b?.blocks ?? 0) };
  });
  rows.sort(sort === 'bytes' ? (a, b) => b.bytes - a.bytes : (a, b) => b.bytesDelta - a.bytesDelta || b.bytes - a.bytes);
  return rows.slice(0, limit);
}
