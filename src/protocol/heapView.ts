// The contract between the Heap view's host (src/ui/heapView.ts) and its webview (src/webview/heap*):
// the table's state and every message both ways. Pure types + a guard, shared by both bundles.
// Life cycle: the page loads and sends `ready` (src/protocol/webview.ts); the host answers with
// `heap/state` and sends a new one after every refresh; the page updates rows in place by key.
import type { HeapRow, HeapSort, SortDirection } from '../model/heapTable';

/** One line of the memory header (RSS breakdown, verdict, next step, growing containers). */
export interface MemoryNode {
  kind: 'memory'; id: string; label: string; description?: string; tooltip?: string;
  /** Codicon name in the tree; the webview maps a few to glyphs. */
  icon?: string;
  /** Theme colour id (charts.red…). */
  color?: string;
  children?: MemoryNode[];
  contextValue?: string;
}

export interface HeapViewState {
  /** A worker is shown (attached now, or its last counts after it went away). */
  hasSource: boolean;
  /** Status line: "ForkPoolWorker-1 (pid 4242) · Δ since 21:40:12 · sorted by Δ · …". */
  status: string;
  /** The status line's tooltip: how the counts were taken and what they leave out (the agent's own objects). */
  statusTitle: string;
  /** What counting costs the worker, when it matters (one line; full text in its tooltip). */
  costNote: string;
  sort: HeapSort;
  direction: SortDirection;
  filter: string;
  paused: boolean;
  rows: HeapRow[];
  /** Rows before the filter: 0 means no counts yet. */
  total: number;
  memory: MemoryNode | null;
  /** How shallow sizes were obtained, for the column header's tooltip. */
  shallowHow: string;
  /** Python or Node: what the retained column's tooltip says. */
  runtime: 'python' | 'node' | null;
}

export type HostToHeapMessage = { type: 'heap/state'; state: HeapViewState };

export type HeapCommand = 'attach' | 'trim' | 'snapshot';

export type HeapToHostMessage =
  | { type: 'heap/sort'; sort: HeapSort; direction: SortDirection }
  | { type: 'heap/filter'; text: string }
  /** Enter or double-click on a row: Show Retainers of that type. */
  | { type: 'heap/showRetainers'; key: string }
  | { type: 'heap/command'; command: HeapCommand };

const SORTS: readonly string[] = ['delta', 'count', 'size', 'retained', 'type'];

export function isHeapToHostMessage(x: unknown): x is HeapToHostMessage {
  if (typeof x !== 'object' || x === null) return false;
  const m = x as Record<string, unknown>;
  switch (m.type) {
    case 'heap/sort': return typeof m.sort === 'string' && SORTS.includes(m.sort) && (m.direction === 'asc' || m.direction === 'desc');
    case 'heap/filter': return typeof m.text === 'string' && m.text.length <= 200;
    case 'heap/showRetainers': return typeof m.key === 'string';
    case 'heap/command': return m.command === 'attach' || m.command === 'trim' || m.command === 'snapshot';
    default: return false;
  }
}
