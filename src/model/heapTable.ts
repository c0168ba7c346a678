// Pure: the Heap view's table — live counts per type joined with a baseline and, when a snapshot
// was analysed, the retained sizes of that snapshot; sorted and filtered. Keyed by module +
// qualname so two classes named `Payload` in different modules stay apart.
import type { ObjectCount } from '../protocol/agent';

export type HeapSort = 'delta' | 'count' | 'size' | 'retained' | 'type';
export type SortDirection = 'desc' | 'asc';

/**
 * Retained sizes per class of one analysed snapshot (the dominator tree the Retainers panel uses,
 * src/model/dominators.ts): Python snapshots name classes by qualname only.
 */
export interface RetainedSizes {
  /** ms since epoch when the snapshot was taken. */
  at: number;
  /** What computed it, for the tooltip: "Show Retainers of Payload", "Take Heap Snapshot". */
  origin: string;
  byClass: ReadonlyMap<string, { count: number; selfSize: number; retainedSize: number }>;
}

/** A row's retained size: known from the snapshot, or why not. */
export type RetainedCell =
  | { known: true; bytes: number; count: number; at: number; origin: string }
  | { known: false; why: 'no-snapshot' | 'not-in-snapshot' | 'ambiguous' | 'named-individually'; at?: number };

export interface HeapRow {
  key: string;           // "module.qualname"
  type: string;          // qualname
  module: string;
  /** What the view shows: the qualname, or "module.qualname" when another row has the same qualname. */
  label: string;
  count: number;
  size: number;
  /** Shallow size is count x a sampled mean (containers), not exact. */
  sizeSampled: boolean;
  /** count − baseline count (the whole count when the type is new since the baseline). */
  delta: number;
  sizeDelta: number;
  /** Flagged by the growth model (sustained growth over recent samples). */
  growing: boolean;
  retained: RetainedCell;
}

export function typeKey(c: Pick<ObjectCount, 'module' | 'type'>): string {
  return c.module && c.module !== 'builtins' ? `${c.module}.${c.type}` : c.type;
}

export function indexCounts(counts: readonly ObjectCount[]): Map<string, ObjectCount> {
  const m = new Map<string, ObjectCount>();
  for (const c of counts) {
    const k = typeKey(c);
    const prev = m.get(k);
    m.set(k, prev ? { ...prev, count: prev.count + c.count, size: prev.size + c.size, sizeSampled: !!(prev.sizeSampled || c.sizeSampled) } : c);
  }
  return m;
}

export interface HeapTableOptions {
  sort: HeapSort;
  /** Default: largest first for numbers, A→Z for the type. */
  direction?: SortDirection;
  /**
   * Case-insensitive substring of what is shown (the label); a filter with a dot also matches the
   * qualified name, builtins included (`builtins.dict`, `tasks.Pay`). Empty = all.
   */
  filter: string;
  growing: ReadonlySet<string>;
  retained?: RetainedSizes | null;
}

export function defaultDirection(sort: HeapSort): SortDirection { return sort === 'type' ? 'asc' : 'desc'; }

export function heapTable(current: readonly ObjectCount[], baseline: ReadonlyMap<string, ObjectCount> | null, opts: HeapTableOptions): HeapRow[] {
  const needle = opts.filter.trim().toLowerCase();
  const indexed = indexCounts(current);
  const sameName = new Map<string, number>();
  for (const c of indexed.values()) sameName.set(c.type, (sameName.get(c.type) ?? 0) + 1);
  const rows: HeapRow[] = [];
  for (const [key, c] of indexed) {
    const qualified = `${c.module || 'builtins'}.${c.type}`;
    const shared = (sameName.get(c.type) ?? 0) > 1;
    const label = shared ? qualified : c.type;
    if (needle && !label.toLowerCase().includes(needle) && !(needle.includes('.') && qualified.toLowerCase().includes(needle))) continue;
    const b = baseline?.get(key);
    rows.push({
      key, type: c.type, module: c.module, label, count: c.count, size: c.size, sizeSampled: !!c.sizeSampled,
      delta: baseline ? c.count - (b?.count ?? 0) : 0,
      sizeDelta: baseline ? c.size - (b?.size ?? 0) : 0,
      growing: opts.growing.has(key),
      retained: retainedCell(c.type, shared, opts.retained ?? null),
    });
  }
  const sign = (opts.direction ?? defaultDirection(opts.sort)) === defaultDirection(opts.sort) ? 1 : -1;
  const retainedOf = (r: HeapRow) => (r.retained.known ? r.retained.bytes : -1);
  const by: Record<HeapSort, (a: HeapRow, b: HeapRow) => number> = {
    delta: (a, b) => b.delta - a.delta || b.count - a.count,
    count: (a, b) => b.count - a.count,
    size: (a, b) => b.size - a.size,
    retained: (a, b) => retainedOf(b) - retainedOf(a) || b.size - a.size,
    type: (a, b) => a.label.localeCompare(b.label),
  };
  return rows.sort((a, b) => sign * by[opts.sort](a, b) || a.key.localeCompare(b.key));
}

function retainedCell(type: string, shared: boolean, r: RetainedSizes | null): RetainedCell {
  if (!r) return { known: false, why: 'no-snapshot' };
  // The snapshot names a class by qualname: two modules' `property` share one figure there.
  if (shared) return { known: false, why: 'ambiguous', at: r.at };
  // Python snapshots group functions as "(closure)" and code as "(compiled code)" (V8's words), and
  // name each class object by itself ("class Payload"): no figure for `type` as a whole.
  const c = r.byClass.get(type) ?? r.byClass.get(SNAPSHOT_ALIAS[type] ?? '');
  if (!c) {
    if (type === 'type' && [...r.byClass.keys()].some(k => k.startsWith('class '))) return { known: false, why: 'named-individually', at: r.at };
    return { known: false, why: 'not-in-snapshot', at: r.at };
  }
  return { known: true, bytes: c.retainedSize, count: c.count, at: r.at, origin: r.origin };
}

const SNAPSHOT_ALIAS: Record<string, string> = { function: '(closure)', code: '(compiled code)' };

/** Per-class retained sizes from a heap worker's summary (`retained: true`). */
export function retainedSizesOf(rows: readonly { className: string; count: number; selfSize: number; retainedSize?: number }[], at: number, origin: string): RetainedSizes {
  const byClass = new Map<string, { count: number; selfSize: number; retainedSize: number }>();
  for (const r of rows) if (r.retainedSize !== undefined) byClass.set(r.className, { count: r.count, selfSize: r.selfSize, retainedSize: r.retainedSize });
  return { at, origin, byClass };
}
