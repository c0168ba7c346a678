// Growing containers (a dict whose len grows, a list of bytes, a threading.local's list) from a
// series of the agent's container rankings (Python.getMemoryBreakdown {untracked: true}). A
// container is one object across samples (id + type); it is a suspect only when it grew in most
// intervals, kept what it gained, and grew materially in items AND bytes.
import type { ContainerInfo } from '../protocol/agent';

export interface ContainerSample {
  timestamp: number;
  containers: readonly ContainerInfo[];
}

export interface ContainerGrowthOptions {
  /** Minimum growth in items over the series. Default 50. */
  minItems?: number;
  /** Minimum growth in owned bytes over the series. Default 64 KB. */
  minBytes?: number;
  /** Share of intervals that must grow (3+ samples). Default 0.5. */
  minConsistency?: number;
}

export interface ContainerSuspect {
  key: string;
  /** "tasks._seen", else "dict at 0x7f…" when no named root was found. */
  name: string;
  type: string;
  path: string[] | null;
  tracked: boolean;
  itemTypes: string[];
  length: number;
  lengthDelta: number;
  ownedBytes: number;
  bytesDelta: number;
  itemsPerSecond: number;
  bytesPerSecond: number;
  consistency: number;
  lengths: number[];
}

export function containerKey(c: Pick<ContainerInfo, 'id' | 'type'>): string { return `${c.id}:${c.type}`; }

export function containerName(c: Pick<ContainerInfo, 'pathText' | 'type' | 'id'>): string {
  return c.pathText ?? `${c.type} at 0x${c.id.toString(16)} (no named root within 10 hops)`;
}

export function findGrowingContainers(samples: readonly ContainerSample[], opts: ContainerGrowthOptions = {}): ContainerSuspect[] {
  if (samples.length < 2) return [];
  const minItems = opts.minItems ?? 50;
  const minBytes = opts.minBytes ?? 64 * 1024;
  const minConsistency = opts.minConsistency ?? 0.5;
  const n = samples.length;
  const seconds = samples[n - 1].timestamp - samples[0].timestamp;
  const lastByKey = new Map(samples[n - 1].containers.map(c => [containerKey(c), c]));
  const out: ContainerSuspect[] = [];
  for (const [key, last] of lastByKey) {
    // the series of this container; a sample where it was not ranked counts as "not seen"
    const seen = samples.map(s => s.containers.find(c => containerKey(c) === key));
    const firstIdx = seen.findIndex(c => c !== undefined);
    const first = seen[firstIdx] as ContainerInfo;
    const present = seen.filter((c): c is ContainerInfo => c !== undefined);
    if (present.length < 2) continue;
    const lengthDelta = last.length - first.length;
    const bytesDelta = last.ownedBytes - first.ownedBytes;
    if (lengthDelta < minItems || bytesDelta < minBytes) continue;
    let ups = 0, peak = present[0].length;
    for (let i = 1; i < present.length; i++) {
      if (present[i].length > present[i - 1].length) ups++;
      peak = Math.max(peak, present[i].length);
    }
    const consistency = ups / (present.length - 1);
    if (present.length >= 3 && consistency < minConsistency) continue;
    if (last.length < peak - 0.5 * (peak - first.length)) continue; // rose and fell back
    const span = samples[n - 1].timestamp - samples[firstIdx].timestamp || seconds;
    out.push({
      key, name: containerName(last), type: last.type, path: last.path, tracked: last.tracked, itemTypes: last.itemTypes,
      length: last.length, lengthDelta, ownedBytes: last.ownedBytes, bytesDelta,
      itemsPerSecond: span > 0 ? lengthDelta / span : 0, bytesPerSecond: span > 0 ? bytesDelta / span : 0,
      consistency, lengths: seen.map(c => c?.length ?? 0),
    });
  }
  return out.sort((a, b) => b.bytesDelta - a.bytesDelta || a.name.localeCompare(b.name));
}
