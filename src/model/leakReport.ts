// The answer the CLI prints and the extension shows: which types grow, and who keeps them alive.
// Joins growth over samples (growth.ts) with clustered retainer paths in the last snapshot.
import type { HeapSnapshot } from './heapSnapshot';
import { computeDominators, Dominators } from './dominators';
import { computeShortestPaths, clusterRetainerPaths, PathCluster, ShortestPaths } from './retainers';
import { findGrowthSuspects, GrowthOptions, isBuiltinType, CountSample } from './growth';
import { summarizeByClass, ClassSummary, newNodes } from './summary';
import type { AnalysisPhase } from './progress';

/** A snapshot with everything the queries need, computed once (the slow part of "load"). */
export class HeapAnalysis {
  readonly dominators: Dominators;
  readonly paths: ShortestPaths;
  readonly summary: ClassSummary[];
  private readonly byClass: Map<string, ClassSummary>;

  /** onProgress: per phase, done/total in that phase's units; throwing from it cancels. */
  constructor(readonly snapshot: HeapSnapshot, onProgress?: (phase: AnalysisPhase, done: number, total: number) => void) {
    this.dominators = computeDominators(snapshot, onProgress && ((d, t) => onProgress('dominators', d, t)));
    this.paths = computeShortestPaths(snapshot, onProgress && ((d, t) => onProgress('paths', d, t)));
    onProgress?.('summary', 0, 1);
    this.summary = summarizeByClass(snapshot, this.dominators);
    this.byClass = new Map(this.summary.map(r => [r.className, r]));
  }

  classSummary(className: string): ClassSummary | undefined { return this.byClass.get(className); }

  /** Clustered retainer paths of the instances of a type (or of the given node ordinals). */
  retainerClusters(className: string, opts: { nodes?: Iterable<number>; maxClusters?: number } = {}) {
    const nodes = opts.nodes ?? this.snapshot.nodesOfClass(snapshotClassFor(this.snapshot, className));
    return clusterRetainerPaths(this.snapshot, this.paths, nodes, { maxClusters: opts.maxClusters ?? 3 });
  }
}

/** Python count rows name builtins by type ("str"); the snapshot groups those as "(string)". */
export function snapshotClassFor(s: HeapSnapshot, type: string): string {
  if (s.classNames.includes(type)) return type;
  const alias: Record<string, string> = { str: '(string)', bytes: '(string)', int: '(number)', float: '(number)', bool: '(number)', code: '(compiled code)' };
  return alias[type] ?? type;
}

export interface LeakSuspect {
  type: string;
  count: number;
  /** Growth over the samples; null when there was only one sample (nothing to compare). */
  delta: number | null;
  ratePerSecond: number | null;
  /** Counts per sample, first to last. */
  counts: number[];
  /** Bytes gained over the samples when sizes were known (live Python counts); else null. */
  bytesDelta?: number | null;
  builtin: boolean;
  selfSize: number | null;
  retainedSize: number | null;
  paths: PathCluster[];
  /** Instances with no path from the root (garbage awaiting collection). */
  unreachable: number;
  /** Instances on paths beyond the clusters shown. */
  otherPaths: number;
}

export interface LeakReport {
  samples: number;
  seconds: number;
  suspects: LeakSuspect[];
}

export interface LeakReportInput {
  /** Count series (two or more for growth; one means "largest types" only). */
  samples: CountSample[];
  /** The last snapshot, analysed; paths come from here. Without it suspects carry no paths. */
  last?: HeapAnalysis;
  /** The first snapshot: when given, paths are drawn for objects new since it where there are any. */
  first?: HeapSnapshot;
  maxSuspects?: number;
  maxPaths?: number;
  growth?: GrowthOptions;
}

export function buildLeakReport(input: LeakReportInput): LeakReport {
  const maxSuspects = input.maxSuspects ?? 5;
  const n = input.samples.length;
  const seconds = n > 1 ? input.samples[n - 1].timestamp - input.samples[0].timestamp : 0;
  const suspects: LeakSuspect[] = [];
  const fresh = input.first && input.last ? newNodes(input.first, input.last.snapshot) : null;
  const withPaths = (s: Omit<LeakSuspect, 'paths' | 'unreachable' | 'otherPaths' | 'selfSize' | 'retainedSize'>): LeakSuspect => {
    const a = input.last;
    if (!a) return { ...s, selfSize: null, retainedSize: null, paths: [], unreachable: 0, otherPaths: 0 };
    const cls = snapshotClassFor(a.snapshot, s.type);
    const row = a.classSummary(cls);
    let nodes: number[] | undefined;
    if (fresh) {
      const k = a.snapshot.classNames.indexOf(cls);
      nodes = [];
      for (const i of fresh) if (a.snapshot.nodeClass[i] === k) nodes.push(i);
      if (nodes.length === 0) nodes = undefined;
    }
    const r = a.retainerClusters(cls, { nodes, maxClusters: input.maxPaths ?? 3 });
    return { ...s, selfSize: row?.selfSize ?? null, retainedSize: row?.retainedSize ?? null, paths: r.clusters, unreachable: r.unreachable, otherPaths: r.others };
  };
  if (n >= 2) {
    for (const g of findGrowthSuspects(input.samples, input.growth).slice(0, maxSuspects)) {
      suspects.push(withPaths({ type: g.type, count: g.count, delta: g.delta, ratePerSecond: g.ratePerSecond, counts: g.counts, builtin: g.builtin, bytesDelta: g.bytesDelta }));
    }
  } else if (input.last) {
    // One snapshot: nothing grows yet; show the user types holding the most memory.
    const rows = input.last.summary.filter(r => !isBuiltinType(r.className) && r.className !== '(anonymous)')
      .sort((a, b) => (b.retainedSize ?? 0) - (a.retainedSize ?? 0)).slice(0, maxSuspects);
    for (const r of rows) suspects.push(withPaths({ type: r.className, count: r.count, delta: null, ratePerSecond: null, counts: [r.count], builtin: false }));
  }
  return { samples: n, seconds, suspects };
}
