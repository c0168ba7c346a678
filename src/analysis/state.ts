// Shared state as the analysis sees it, and the program points where it is touched.
import type { SyntaxNode } from './python';

export type StateKind = 'mem' | 'redis' | 'file' | 'djcache';

export interface SharedState {
  kind: StateKind;
  /** Canonical container path: `counter`, `Cls.hits`, `self.stats`, `redis:r:"k"`, `file:path`. */
  root: string;
  /** Subscript / hash field text, normalised. */
  key?: string;
  /** Source text as the user wrote it, e.g. `_price_cache[sku]`. */
  display: string;
  /** Words for the message, e.g. "module global `processed_count`". */
  what: string;
  /** Module-level name the state hangs off (for naming and placing a new lock). */
  globalName?: string;
  /** A multiprocessing Manager proxy: shared across processes, guarded by the manager's lock. */
  proxy?: boolean;
}

/** Where execution is when a state is touched: locks held (name → acquisition id), awaits and calls so far. */
export interface Point {
  held: ReadonlyMap<string, number>;
  awaits: number;
  calls: number;
  /** Blocking calls (sleep, network) so far. */
  waits: number;
}

export interface Access {
  state: SharedState;
  node: SyntaxNode;
  /** Innermost statement holding the access. */
  stmt: SyntaxNode;
  at: Point;
  /** Read by an identity test (`x is None`): guards rebinding, not the container's content. */
  identity?: boolean;
}

export type LockRelation = 'protected' | 'split' | 'none';

/** Whether two points share one lock acquisition, hold the same lock in two acquisitions, or neither. */
export function lockRelation(a: Point, b: Point): LockRelation {
  let split = false;
  for (const [lock, id] of a.held) {
    const other = b.held.get(lock);
    if (other === id) return 'protected';
    if (other !== undefined) split = true;
  }
  return split ? 'split' : 'none';
}

export function sameState(a: SharedState, b: SharedState, loose: boolean): boolean {
  if (a.root !== b.root) return false;
  if (a.key === b.key) return true;
  return loose && (a.key === undefined || b.key === undefined);
}
