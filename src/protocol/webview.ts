// The contract between the extension host (src/ui/panels) and the webview panels (src/webview):
// the data each panel draws and every message both ways. Pure types + guards, no imports, so both the
// Node host and the browser bundle use the same file.
//
// Life cycle (both panels): the webview loads, sends `ready`; the host answers with the full state
// (`retainers/graph` or `timeline/state`). Panels are created with retainContextWhenHidden=false: when
// a hidden panel becomes visible again its page is reloaded, it sends `ready` again and the host
// re-sends the state. View state (zoom, expanded groups, selection) survives that through the
// webview's own getState/setState.

export const WEBVIEW_PROTOCOL_VERSION = 1;

export type PanelKind = 'retainers' | 'timeline' | 'heap';

// ---------------------------------------------------------------------------------------------
// Retainers panel data

/** Why a node is a root of retention. `v8GcRoot` covers V8's synthetic (GC roots) children. */
export type RootKind = 'module' | 'thread' | 'gcRoot' | 'v8GcRoot' | 'global';

/** A position in a user's file; `line` is 1-based (as Python's co_firstlineno), `column` 1-based too. */
export interface SourceLocation {
  file: string;          // absolute path (or a URI string) the host can open
  line: number;
  column?: number;
}

/** V8 .heapsnapshot edge types (src/protocol/snapshot.ts); weak edges never appear on a retainer path. */
export type EdgeType = 'context' | 'element' | 'property' | 'internal' | 'hidden' | 'shortcut' | 'weak';

export interface RetainerNode {
  /** Unique in the graph; the snapshot node id as a string is a good choice. */
  id: string;
  /** Type name as the heap model reports it: "Payload", "dict", "list", "module", "thread". */
  type: string;
  /** Short, safe label (never user repr): `tasks`, `leaky_storage`, `Payload#1234`. The webview truncates for display. */
  label: string;
  selfSize: number;      // bytes
  retainedSize: number;  // bytes (dominator tree); 0 when unknown
  /** Present iff this node is a root of retention (first node of a path). */
  rootKind?: RootKind;
  /** An instance of the chosen type: where a path ends. */
  isTarget?: boolean;
  /** Definition of a module / class / function node; the panel offers "open source" for it. */
  source?: SourceLocation;
  /** Immediate dominator's node id; it may be absent from `nodes` (then shown by id only). */
  dominatorId?: string;
  /** Label of the dominator when it is not in `nodes`. */
  dominatorLabel?: string;
}

/** A reference: `from` retains `to`. Labels are code-like: `leaky_storage`, `[17]`, `_sessions['user-9']`. */
export interface RetainerEdge {
  from: string;
  to: string;
  label: string;
  edgeType: EdgeType;
}

/** A cluster of retainer paths with the same shape: one representative chain, root first. */
export interface RetainerPath {
  id: string;
  /** Node ids from the root to an instance of the target type; consecutive pairs are edges. */
  nodeIds: string[];
  /** How many instances share this path ("800 instances share this path"). */
  instanceCount: number;
  /** A few rendered example paths, e.g. `tasks.leaky_storage[17]`. */
  exampleLabels: string[];
  /** Sum of the instances' retained sizes when known. */
  retainedSize?: number;
}

export interface RetainerGraph {
  /** The type that was chosen in the Heap view, e.g. "Payload". */
  targetType: string;
  /** Live instances of that type in the snapshot (paths may cover only a sample of them). */
  instanceCount: number;
  /** How many instances the paths were computed from, when sampled. */
  sampledCount?: number;
  /** Where the data comes from, shown in the header: "celery@host ForkPoolWorker-1 · 21:40:12". */
  source?: string;
  nodes: RetainerNode[];
  edges: RetainerEdge[];
  paths: RetainerPath[];
}

// ---------------------------------------------------------------------------------------------
// Timeline panel data

export interface TimelineWorker {
  id: string;            // stable key, e.g. the pid as a string
  label: string;         // "ForkPoolWorker-1 (4242)"
  /** When sampling began (the attach), epoch ms: the panel says so. */
  since?: number;
  /** Samples before this time are folded to one point per minute (the highest values). */
  foldedUntil?: number;
  /** Older task markers were dropped (the history keeps the last 20,000): the first one kept. */
  markersSince?: number;
}

/** One measurement; absent values leave a gap. Times are Unix epoch milliseconds. */
export interface TimelineSample {
  workerId: string;
  t: number;
  rss?: number;          // bytes
  heapUsed?: number;     // bytes
  /** Native allocations no Python/JS object explains (memory breakdown, estimated), bytes. */
  native?: number;
  /** Free memory malloc holds and has not returned (glibc mallinfo2), bytes. */
  mallocFree?: number;
}

/** A task run on a worker: marks its start (and its end when known). */
export interface TimelineMarker {
  workerId?: string;
  t: number;
  endT?: number;
  name: string;          // task name, e.g. "tasks.leak"
}

export interface TimelineBaseline {
  t: number;
  label?: string;
}

export interface TimelineState {
  workers: TimelineWorker[];
  samples: TimelineSample[];
  markers: TimelineMarker[];
  baseline?: TimelineBaseline;
}

// ---------------------------------------------------------------------------------------------
// Messages host -> webview

export type HostToRetainersMessage =
  | { type: 'retainers/graph'; graph: RetainerGraph }
  /** Select (and focus) a node from outside, e.g. after a tree-view click. */
  | { type: 'retainers/select'; nodeId: string }
  /** A one-line status in the header (snapshot progress, "Saved to …"); `busy` shows a spinner. */
  | { type: 'retainers/status'; text: string; busy?: boolean; error?: boolean };

export type HostToTimelineMessage =
  | { type: 'timeline/state'; state: TimelineState }
  /** Incremental: new samples / markers / workers, appended without redrawing the rest. */
  | { type: 'timeline/append'; samples?: TimelineSample[]; markers?: TimelineMarker[]; workers?: TimelineWorker[] }
  | { type: 'timeline/baseline'; baseline: TimelineBaseline | null };

export type HostToWebviewMessage = HostToRetainersMessage | HostToTimelineMessage;

// ---------------------------------------------------------------------------------------------
// Messages webview -> host

export type WebviewToHostMessage =
  /** Handshake: sent on every page load (also after the panel became visible again). */
  | { type: 'ready'; panel: PanelKind; protocolVersion: number }
  /** The user selected a node (click, Enter): for logging / syncing other views. */
  | { type: 'retainers/nodeSelected'; nodeId: string }
  /** The user asked to open a node's definition (click on a node with a source, or the details button). */
  | { type: 'retainers/openSource'; nodeId: string; location: SourceLocation }
  /** A node's subtree or a "+N more" group was expanded or collapsed (view state, informational). */
  | { type: 'retainers/toggle'; id: string; expanded: boolean }
  /** The "Save snapshot" button. */
  | { type: 'retainers/saveSnapshot' }
  /** Something the webview could not draw; the host logs it. */
  | { type: 'error'; panel: PanelKind; message: string };

// ---------------------------------------------------------------------------------------------
// Guards and validation (used on both sides: messages cross a trust boundary as plain JSON)

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isStr = (x: unknown): x is string => typeof x === 'string';
const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

export function isSourceLocation(x: unknown): x is SourceLocation {
  return isObj(x) && isStr(x.file) && x.file.length > 0 && isNum(x.line) && x.line >= 1 && (x.column === undefined || isNum(x.column));
}

/** Type guard for what a webview posts; anything else is ignored by the host. */
export function isWebviewToHostMessage(x: unknown): x is WebviewToHostMessage {
  if (!isObj(x) || !isStr(x.type)) return false;
  switch (x.type) {
    case 'ready': return (x.panel === 'retainers' || x.panel === 'timeline' || x.panel === 'heap') && isNum(x.protocolVersion);
    case 'retainers/nodeSelected': return isStr(x.nodeId);
    case 'retainers/openSource': return isStr(x.nodeId) && isSourceLocation(x.location);
    case 'retainers/toggle': return isStr(x.id) && typeof x.expanded === 'boolean';
    case 'retainers/saveSnapshot': return true;
    case 'error': return (x.panel === 'retainers' || x.panel === 'timeline' || x.panel === 'heap') && isStr(x.message);
    default: return false;
  }
}

/**
 * Checks a RetainerGraph before it is drawn; returns a one-line problem or undefined when usable.
 * The host may call it before posting (to log the model's mistake), the webview always does.
 */
export function validateRetainerGraph(g: unknown): string | undefined {
  if (!isObj(g)) return 'retainer graph is not an object';
  if (!isStr(g.targetType)) return 'retainer graph has no targetType';
  if (!isNum(g.instanceCount)) return 'retainer graph has no instanceCount';
  if (!Array.isArray(g.nodes) || !Array.isArray(g.edges) || !Array.isArray(g.paths)) return 'retainer graph needs nodes, edges and paths arrays';
  const ids = new Set<string>();
  for (const n of g.nodes as unknown[]) {
    if (!isObj(n) || !isStr(n.id) || !isStr(n.type) || !isStr(n.label) || !isNum(n.selfSize) || !isNum(n.retainedSize)) {
      return `retainer graph node ${JSON.stringify(isObj(n) ? n.id : n)} lacks id/type/label/selfSize/retainedSize`;
    }
    if (n.source !== undefined && !isSourceLocation(n.source)) return `node ${n.id} has a source without file and 1-based line`;
    if (ids.has(n.id)) return `retainer graph has two nodes with id ${n.id}`;
    ids.add(n.id);
  }
  const edgeKeys = new Set<string>();
  for (const e of g.edges as unknown[]) {
    if (!isObj(e) || !isStr(e.from) || !isStr(e.to) || !isStr(e.label) || !isStr(e.edgeType)) return 'retainer graph edge lacks from/to/label/edgeType';
    if (!ids.has(e.from) || !ids.has(e.to)) return `edge ${e.from} -> ${e.to} names a node that is not in nodes`;
    edgeKeys.add(edgeKey(e.from, e.to));
  }
  for (const p of g.paths as unknown[]) {
    if (!isObj(p) || !isStr(p.id) || !Array.isArray(p.nodeIds) || !isNum(p.instanceCount) || !Array.isArray(p.exampleLabels)) {
      return 'retainer path lacks id/nodeIds/instanceCount/exampleLabels';
    }
    const nodeIds = p.nodeIds as unknown[];
    if (nodeIds.length === 0) return `path ${p.id} is empty`;
    for (let i = 0; i < nodeIds.length; i++) {
      const id = nodeIds[i];
      if (!isStr(id) || !ids.has(id)) return `path ${p.id} names node ${String(id)} that is not in nodes`;
      if (i > 0 && !edgeKeys.has(edgeKey(nodeIds[i - 1] as string, id))) return `path ${p.id} steps ${String(nodeIds[i - 1])} -> ${id} without an edge`;
    }
  }
  return undefined;
}

/** Key of the edge from -> to in maps (ids never contain a newline). */
export function edgeKey(from: string, to: string): string {
  return `${from}\n${to}`;
}

/** Checks timeline data (state or an append); returns a one-line problem or undefined. */
export function validateTimelineSamples(samples: unknown): string | undefined {
  if (!Array.isArray(samples)) return 'timeline samples is not an array';
  for (const s of samples as unknown[]) {
    if (!isObj(s) || !isStr(s.workerId) || !isNum(s.t)) return 'timeline sample lacks workerId or t (epoch ms)';
    if ((s.rss !== undefined && !isNum(s.rss)) || (s.heapUsed !== undefined && !isNum(s.heapUsed))) return `timeline sample of ${s.workerId} has a non-numeric rss/heapUsed`;
  }
  return undefined;
}

export function validateTimelineMarkers(markers: unknown): string | undefined {
  if (!Array.isArray(markers)) return 'timeline markers is not an array';
  for (const m of markers as unknown[]) {
    if (!isObj(m) || !isNum(m.t) || !isStr(m.name)) return 'timeline marker lacks t (epoch ms) or name';
    if (m.endT !== undefined && !isNum(m.endT)) return `timeline marker ${m.name} has a non-numeric endT`;
  }
  return undefined;
}

export function validateTimelineState(s: unknown): string | undefined {
  if (!isObj(s)) return 'timeline state is not an object';
  if (!Array.isArray(s.workers)) return 'timeline state has no workers array';
  for (const w of s.workers as unknown[]) if (!isObj(w) || !isStr(w.id) || !isStr(w.label)) return 'timeline worker lacks id or label';
  const bad = validateTimelineSamples(s.samples) ?? validateTimelineMarkers(s.markers);
  if (bad) return bad;
  if (s.baseline !== undefined && s.baseline !== null && !(isObj(s.baseline) && isNum(s.baseline.t))) return 'timeline baseline lacks t (epoch ms)';
  return undefined;
}
