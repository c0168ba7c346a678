// Which parts of a process's RSS grew between two memory breakdowns, and the one-line summary of a
// sampled process for the Pool Memory view (a prefork main beside its children) and the Tasks view.
// Pure: figures come from the agent's Python.getMemoryBreakdown samples, each part keeps its "how".
import type { FigureHow, MemoryPart, MemoryPartKey } from '../protocol/agent';
import { formatBytes, formatCount } from '../common/format';
import type { Verdict } from './memoryVerdict';
import { verdictGrows } from './memoryVerdict';

export interface BreakdownSample { timestamp: number; rssBytes: number | null; parts: readonly MemoryPart[] }

export interface PartGrowth { key: MemoryPartKey; label: string; fromBytes: number; toBytes: number; deltaBytes: number; how: FigureHow }

export interface MemoryChange {
  seconds: number;
  samples: number;
  rssFrom: number | null;
  rssTo: number | null;
  rssDelta: number | null;
  /** Parts known in both samples, largest growth first (parts unavailable in either are left out). */
  parts: PartGrowth[];
  /** Parts that were unavailable in the last sample, with the reason. */
  unavailable: { label: string; reason: string }[];
}

export function signedBytes(n: number): string {
  return n > 0 ? `+${formatBytes(n)}` : n < 0 ? `−${formatBytes(-n)}` : '±0 B';
}

export function memoryChange(samples: readonly BreakdownSample[]): MemoryChange | null {
  if (samples.length === 0) return null;
  const a = samples[0], b = samples[samples.length - 1];
  const parts: PartGrowth[] = [];
  for (const p of b.parts) {
    const q = a.parts.find(x => x.key === p.key);
    if (!q || q.bytes === null || p.bytes === null || q.how === 'unavailable' || p.how === 'unavailable') continue;
    // an estimate in either sample makes the difference an estimate
    parts.push({ key: p.key, label: p.label, fromBytes: q.bytes, toBytes: p.bytes, deltaBytes: p.bytes - q.bytes, how: p.how === 'exact' && q.how === 'exact' ? 'exact' : 'estimated' });
  }
  parts.sort((x, y) => y.deltaBytes - x.deltaBytes);
  return {
    seconds: b.timestamp - a.timestamp, samples: samples.length,
    rssFrom: a.rssBytes, rssTo: b.rssBytes, rssDelta: a.rssBytes !== null && b.rssBytes !== null ? b.rssBytes - a.rssBytes : null,
    parts,
    unavailable: b.parts.filter(p => p.how === 'unavailable').map(p => ({ label: p.label, reason: p.reason ?? 'unavailable' })),
  };
}

/** "native allocations … +30.0 MB (estimated)" for the part that grew most, or null when none grew by 1 MB. */
export function largestGrowth(c: MemoryChange | null, floorBytes = 1 << 20): PartGrowth | null {
  const top = c?.parts[0];
  return top && top.deltaBytes >= floorBytes ? top : null;
}

// 'no steady growth': the verdict's test (most intervals rise, kept, material) failed — RSS may still have moved
export type PoolState = 'grows' | 'no steady growth' | 'fragmented' | 'one sample' | 'unknown';

export function poolState(v: Verdict): PoolState {
  if (verdictGrows(v)) return 'grows';
  if (v.kind === 'quiet') return 'no steady growth';
  if (v.kind === 'fragmentation') return 'fragmented';
  if (v.kind === 'one-sample') return 'one sample';
  return 'unknown';
}

/** The row text of one sampled process: "RSS 85.0 MB · +24.0 MB in 8 s · grows". */
export function poolDescription(c: MemoryChange | null, v: Verdict): string {
  const state = poolState(v);
  if (!c || c.rssTo === null) return `RSS unknown · ${state}`;
  const change = c.rssDelta !== null && c.samples > 1 ? ` · ${signedBytes(c.rssDelta)} in ${c.seconds.toFixed(0)} s` : '';
  return `RSS ${formatBytes(c.rssTo)}${change} · ${state}`;
}

/** Lines under a process row: which parts changed, and how each was obtained. */
export function partLines(c: MemoryChange | null, max = 4): string[] {
  if (!c || c.samples < 2) return [];
  const lines = c.parts.slice(0, max).map(p => `${signedBytes(p.deltaBytes)}  ${p.label} (${p.how}; ${formatBytes(p.fromBytes)} → ${formatBytes(p.toBytes)})`);
  for (const u of c.unavailable) lines.push(`n/a  ${u.label}: ${u.reason}`);
  return lines;
}

export function samplesText(c: MemoryChange | null): string {
  return c ? `${formatCount(c.samples)} sample${c.samples === 1 ? '' : 's'} over ${c.seconds.toFixed(0)} s` : 'no sample';
}
