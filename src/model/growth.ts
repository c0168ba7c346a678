// Leak suspects from a series of samples (object counts per type, from Python.getObjectCounts or
// from snapshots): types whose count grows steadily rank first; one-off spikes and types that rise
// and fall back are noise and are dropped.

export interface CountSample {
  /** Seconds (any origin); used for rates only. */
  timestamp: number;
  counts: ReadonlyMap<string, number>;
  /** Bytes per type, when known (Python.getObjectCounts sizes): growth must then be material in bytes too. */
  sizes?: ReadonlyMap<string, number>;
}

export interface GrowthOptions {
  /** Ignore types that grew by fewer objects than this over the series. Default 10. */
  minDelta?: number;
  /** Share of intervals that must grow (series of 3+ samples). Default 0.5. */
  minConsistency?: number;
  /** With sizes in the samples: ignore types whose bytes grew by less than this. Default 8 KB
   *  (the agent's own bookkeeping, a dozen weakrefs, is ~1 KB). */
  minBytes?: number;
  /** Types counted as built-in (listed after user types at any score). Default: isBuiltinType. */
  isBuiltin?: (type: string) => boolean;
}

export interface GrowthSuspect {
  type: string;
  /** Count in the last sample. */
  count: number;
  /** Last minus first. */
  delta: number;
  /** Objects per second over the series (0 when the timestamps do not advance). */
  ratePerSecond: number;
  /** Share of intervals with growth, 0..1. */
  consistency: number;
  builtin: boolean;
  score: number;
  counts: number[];
  /** Bytes gained, when the samples carry sizes; else null. */
  bytesDelta: number | null;
}

/**
 * Classes that are not a program's own types: V8's "(string)", "(system)", "system / Context",
 * and Python builtins. Growth there is usually owned by a user type that grows too.
 */
export function isBuiltinType(type: string): boolean {
  if (type.startsWith('(') || type.startsWith('system /')) return true;
  return PYTHON_BUILTINS.has(type);
}

const PYTHON_BUILTINS = new Set(['dict', 'list', 'tuple', 'set', 'frozenset', 'str', 'bytes', 'bytearray', 'int', 'float', 'function',
  'builtin_function_or_method', 'method', 'cell', 'weakref', 'type', 'module', 'frame', 'code', 'getset_descriptor',
  'method_descriptor', 'wrapper_descriptor', 'member_descriptor', 'property', 'staticmethod', 'classmethod', 'generator',
  'coroutine', 'deque', 'OrderedDict', 'defaultdict', 'memoryview', 'slice', 'range', 'object']);

export function findGrowthSuspects(samples: readonly CountSample[], opts: GrowthOptions = {}): GrowthSuspect[] {
  if (samples.length < 2) return [];
  const minDelta = opts.minDelta ?? 10;
  const minConsistency = opts.minConsistency ?? 0.5;
  const builtin = opts.isBuiltin ?? isBuiltinType;
  const minBytes = opts.minBytes ?? 8 * 1024;
  const types = new Set<string>();
  for (const s of samples) for (const t of s.counts.keys()) types.add(t);
  const n = samples.length;
  const seconds = samples[n - 1].timestamp - samples[0].timestamp;
  const out: GrowthSuspect[] = [];
  for (const type of types) {
    const c = samples.map(s => s.counts.get(type) ?? 0);
    const delta = c[n - 1] - c[0];
    if (delta < minDelta) continue;
    const s0 = samples[0].sizes, s1 = samples[n - 1].sizes;
    const bytesDelta = s0 && s1 ? (s1.get(type) ?? 0) - (s0.get(type) ?? 0) : null;
    if (bytesDelta !== null && bytesDelta < minBytes) continue;
    let ups = 0, rise = 0, maxStep = 0, peak = c[0];
    for (let i = 1; i < n; i++) {
      const step = c[i] - c[i - 1];
      if (step > 0) { ups++; rise += step; maxStep = Math.max(maxStep, step); }
      peak = Math.max(peak, c[i]);
    }
    const consistency = ups / (n - 1);
    // Rise and fall: most of what was gained is gone again by the last sample.
    const kept = rise > 0 ? delta / rise : 0;
    if (n >= 3) {
      if (consistency < minConsistency) continue;
      if (kept < 0.5 || c[n - 1] < peak - 0.5 * (peak - c[0])) continue;
      // One-off jump: nearly all growth in one interval of a long series.
      if (n >= 4 && maxStep > 0.8 * delta) continue;
    }
    out.push({
      type, count: c[n - 1], delta, ratePerSecond: seconds > 0 ? delta / seconds : 0, consistency,
      builtin: builtin(type), score: delta * consistency * Math.min(1, kept), counts: c, bytesDelta,
    });
  }
  return out.sort((a, b) => Number(a.builtin) - Number(b.builtin) || b.score - a.score || a.type.localeCompare(b.type));
}
