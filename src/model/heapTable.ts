// Pure: the Heap view's table — live counts per type joined with a baseline, sorted and filtered.
// Keyed by module + qualname so two classes named `Payload` in different modules stay apart.
import type { ObjectCount } from '../protocol/agent';

export type HeapSort = 'delta' | 'count' | 'size';

export interface HeapRow {
  key: string;           // "module.qualname"
  type: string;          // qualname
  module: string;
  /** What the view shows: the qualname, or "module.qualname" when another row has the same qualname. */
  label: string;
  count: number;
  size: number;
  /** count − baseline count (the whole count when the type is new since the baseline). */
  delta: number;
  sizeDelta: number;
  /** Flagged by the growth model (sustained growth over recent samples). */
  growing: boolean;
}

export function typeKey(c: Pick<ObjectCount, 'module' | 'type'>): string {
  return c.module && c.module !== 'builtins' ? `${c.module}.${c.type}` : c.type;
}

export function indexCounts(counts: readonly ObjectCount[]): Map<string, ObjectCount> {
  const m = new Map<string, ObjectCount>();
  for (const c of counts) {
    const k = typeKey(c);
    const prev = m.get(k);
    m.set(k, prev ? { ...prev, count: prev.count + c.count, size: prev.size + c.size } : c);
  }
  return m;
}

export interface HeapTableOptions {
  sort: HeapSort;
  /**
   * Case-insensitive substring of what is shown (the label); a filter with a dot also matches the
   * qualified name, builtins included (`builtins.dict`, `tasks.Pay`). Empty = all.
   */
  filter: string;
  growing: ReadonlySet<string>;
}

export function heapTable(current: readonly ObjectCount[], baseline: ReadonlyMap<string, ObjectCount> | null, opts: HeapTableOptions): HeapRow[] {
  const needle = opts.filter.trim().toLowerCase();
  const indexed = indexCounts(current);
  const sameName = new Map<string, number>();
  for (const c of indexed.values()) sameName.set(c.type, (sameName.get(c.type) ?? 0) + 1);
  const rows: HeapRow[] = [];
  for (const [key, c] of indexed) {
    const qualified = `${c.module || 'builtins'}.${c.type}`;
    const label = (sameName.get(c.type) ?? 0) > 1 ? qualified : c.type;
    if (needle && !label.toLowerCase().includes(needle) && !(needle.includes('.') && qualified.toLowerCase().includes(needle))) continue;
    const b = baseline?.get(key);
    rows.push({
      key, type: c.type, module: c.module, label, count: c.count, size: c.size,
      delta: baseline ? c.count - (b?.count ?? 0) : 0,
      sizeDelta: baseline ? c.size - (b?.size ?? 0) : 0,
      growing: opts.growing.has(key),
    });
  }
  const by: Record<HeapSort, (a: HeapRow, b: HeapRow) => number> = {
    delta: (a, b) => b.delta - a.delta || b.count - a.count,
    count: (a, b) => b.count - a.count,
    size: (a, b) => b.size - a.size,
  };
  return rows.sort((a, b) => by[opts.sort](a, b) || a.key.localeCompare(b.key));
}

