// Retainer paths: for chosen objects, the shortest chain of references from the root (by hops,
// weak edges ignored), preferring named edges (property/context) over element and internal ones at
// equal distance; identical chains are clustered (indexes normalised) so 10,000 leaked objects show
// as the 1–3 ways they are kept alive.
import type { HeapSnapshot } from './heapSnapshot';
import { noStep, Step, STEP_EVERY } from './progress';
import { isSubscriptName } from '../protocol/snapshot';

const NONE = 0xffffffff;

/** Shortest-path tree from the root: for each node, the edge it is reached by (NONE for the root/unreachable). */
export interface ShortestPaths {
  distance: Uint32Array;    // hops from the root; NONE when unreachable
  parentEdge: Uint32Array;  // edge index
  parentNode: Uint32Array;  // source of parentEdge
}

/** One hop of a path, root side first. */
export interface PathStep {
  /** Rendered edge label: `leaky_storage`, `[17]`, `['user-9']`, `table`. */
  label: string;
  edgeType: string;
  /** The node this edge reaches. */
  nodeId: number;
  nodeClass: string;
  nodeType: string;
}

export interface RetainerPath {
  steps: PathStep[];
  /** Edge labels root first, e.g. ["tasks", "leaky_storage", "[17]"]. */
  labels: string[];
  /** Reads like code when it can (`tasks.leaky_storage[17]`), else `leaks (Map) → table → ['k'] → Payload`. */
  text: string;
}

export interface PathCluster extends RetainerPath {
  /** Objects kept alive along this (index-normalised) path. */
  count: number;
  /** Labels with subscripts normalised (`[*]`): the cluster key. */
  pattern: string[];
  /** A few member node ids (for "reveal" in the UI). */
  sampleIds: number[];
}

function edgeRank(s: HeapSnapshot, e: number): number {
  const t = s.edgeType[e], c = s.edgeCodes;
  if (t === c.property || t === c.context || t === c.shortcut) return 0;
  if (t === c.element) return 1;
  if (t === c.internal) return 2;
  return 3;
}

/** Level-synchronous BFS from the root; among same-level parents the best-ranked edge wins. */
/** BFS from the root; `step(done, total)` as in computeDominators (throwing from it cancels). */
export function computeShortestPaths(s: HeapSnapshot, step: Step = noStep): ShortestPaths {
  const n = s.nodeCount;
  const distance = new Uint32Array(n).fill(NONE);
  const parentEdge = new Uint32Array(n).fill(NONE);
  const parentNode = new Uint32Array(n).fill(NONE);
  const rank = new Uint8Array(n).fill(255);
  const queue = new Uint32Array(n);
  const first = s.firstEdge, target = s.edgeTarget, etype = s.edgeType;
  const weak = s.edgeCodes.weak, shortcut = s.edgeCodes.shortcut;
  let head = 0, tail = 0;
  distance[0] = 0; queue[tail++] = 0;
  while (head < tail) {
    const levelEnd = tail;
    for (; head < levelEnd; head++) {
      const u = queue[head];
      if ((head & STEP_EVERY) === 0) step(head, n);
      const dv = distance[u] + 1;
      for (let e = first[u]; e < first[u + 1]; e++) {
        const t = etype[e];
        if (t === weak || (t === shortcut && u !== 0)) continue;
        const v = target[e];
        if (distance[v] === NONE) {
          distance[v] = dv; parentEdge[v] = e; parentNode[v] = u; rank[v] = edgeRank(s, e);
          queue[tail++] = v;
        } else if (distance[v] === dv && rank[v] > 0) {
          const r = edgeRank(s, e);
          if (r < rank[v]) { parentEdge[v] = e; parentNode[v] = u; rank[v] = r; }
        }
      }
    }
  }
  step(n, n);
  return { distance, parentEdge, parentNode };
}

const IDENT = /^[A-Za-z_$][\w$]*$/;

/** Label of the edge e (from node `from`), rendered like code. */
export function edgeLabel(s: HeapSnapshot, from: number, e: number): string {
  const t = s.edgeType[e], c = s.edgeCodes;
  if (t === c.element || t === c.hidden) return `[${s.edgeNameOrIndex[e]}]`;
  const name = s.strings[s.edgeNameOrIndex[e]];
  if (t === c.internal && /^\d+$/.test(name)) return mapEntryLabel(s, from, e, Number(name)) ?? `[${name}]`;
  if (t === c.shortcut && from === 0) return rootName(s, s.edgeTarget[e]);
  return name;
}

/**
 * V8 keeps Map/Set entries in a hash table reached by the collection's internal `table` edge:
 * slots are internal edges named by index; a Map entry is [key, value, chain] and the chain is a
 * small integer (no edge). So a slot whose previous slot has an edge and the one before that has
 * none holds a value (its key is the previous slot): render `['the-key']`. A slot followed by an
 * edge and preceded by none is a key: `<key>`. Anything else keeps its index.
 */
function mapEntryLabel(s: HeapSnapshot, table: number, e: number, slot: number): string | null {
  if (s.nodeType[table] !== s.nodeCodes.array) return null;
  const slotEdge = (k: number): number => {
    if (k < 0) return -1;
    const name = String(k);
    for (let x = s.firstEdge[table]; x < s.firstEdge[table + 1]; x++) {
      if (x !== e && s.edgeType[x] === s.edgeCodes.internal && s.strings[s.edgeNameOrIndex[x]] === name) return x;
    }
    return -1;
  };
  const before = slotEdge(slot - 1);
  if (before >= 0 && slotEdge(slot - 2) < 0) {
    const key = s.edgeTarget[before];
    const type = s.nodeTypeName(key);
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') return `[${quote(s.nodeName(key).slice(0, 60))}]`;
    if (type === 'number' || type === 'hidden') return `[${s.nodeName(key).slice(0, 60)}]`;
    return `[<${s.className(key)}>]`;
  }
  if (before < 0 && slotEdge(slot + 1) >= 0) return '<key>';
  return null;
}

function quote(text: string): string {
  return "'" + text.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n') + "'";
}

function rootName(s: HeapSnapshot, node: number): string {
  const name = s.nodeName(node);
  const slash = name.indexOf(' /');
  return slash > 0 ? name.slice(0, slash) : name || s.className(node);
}

/** True for nodes that only group roots (the root itself, V8 "(GC roots)", the agent's "(modules)"). */
function isSyntheticRoot(s: HeapSnapshot, v: number): boolean {
  return v === 0 || s.nodeType[v] === s.nodeCodes.synthetic;
}

/**
 * How hop e (from → to) reads, or null when it carries no meaning for the reader: hops into
 * synthetic root groups are dropped; the first real object under a group is named by its edge when
 * that is a name (a module under the agent's "(modules)") or else by itself (V8's `global`).
 */
export function stepLabel(s: HeapSnapshot, from: number, e: number): string | null {
  const to = s.edgeTarget[e];
  if (isSyntheticRoot(s, to)) return null;
  if (!isSyntheticRoot(s, from)) return edgeLabel(s, from, e);
  const t = s.edgeType[e];
  if (t === s.edgeCodes.property || t === s.edgeCodes.context) return s.strings[s.edgeNameOrIndex[e]];
  return rootName(s, to);
}

/** The path from the root to `node` along the shortest-path tree, or null when unreachable. */
export function retainerPath(s: HeapSnapshot, sp: ShortestPaths, node: number): RetainerPath | null {
  if (node !== 0 && sp.parentEdge[node] === NONE) return null;
  const edges: number[] = [];
  for (let v = node; v !== 0; v = sp.parentNode[v]) edges.push(sp.parentEdge[v]);
  edges.reverse();
  const steps: PathStep[] = [];
  let from = 0;
  for (const e of edges) {
    const to = s.edgeTarget[e];
    const label = stepLabel(s, from, e);
    if (label !== null) steps.push({ label, edgeType: s.edgeTypeName(e), nodeId: s.nodeId[to], nodeClass: s.className(to), nodeType: s.nodeTypeName(to) });
    from = to;
  }
  const labels = steps.map(st => st.label);
  return { steps, labels, text: renderPath(steps, s.className(node)) };
}

const CODE_EDGES = new Set(['property', 'element', 'context', 'shortcut']);

/**
 * `tasks.leaky_storage[17]` when every hop is a property/element (Python paths, plain JS objects);
 * otherwise arrows with the class of notable objects: `leaks (Map) → table → ['k-1'] → Payload`.
 */
export function renderPath(steps: PathStep[], targetClass: string): string {
  if (steps.length === 0) return '(root)';
  if (steps.every(st => CODE_EDGES.has(st.edgeType) || isSubscriptName(st.label))) {
    let text = steps[0].label;
    for (const st of steps.slice(1)) text += isSubscriptName(st.label) ? st.label : IDENT.test(st.label) ? `.${st.label}` : `[${JSON.stringify(st.label)}]`;
    return text;
  }
  const parts = steps.map((st, i) => {
    const last = i === steps.length - 1;
    const notable = !last && st.nodeType === 'object' && st.nodeClass !== 'Object' && !st.nodeClass.includes(' /') && st.nodeClass !== st.label;
    return notable ? `${st.label} (${st.nodeClass})` : st.label;
  });
  // a root-level object is labelled by its own name already
  return (steps[steps.length - 1].label === targetClass ? parts : [...parts, targetClass]).join(' → ');
}

/** Subscripts and numeric slots become `[*]`, so `[17]` and `[18]` (or `['user-1']`, `['user-2']`) cluster. */
export function normaliseLabel(label: string): string {
  return isSubscriptName(label) ? '[*]' : /^\d+$/.test(label) ? '[*]' : label;
}

export interface ClusterOptions {
  /** Stop after this many distinct clusters (the rest are counted in `others`). Default 5. */
  maxClusters?: number;
  sampleIds?: number;
}

/** Clusters the shortest retainer paths of `nodes`; largest clusters first. */
export function clusterRetainerPaths(s: HeapSnapshot, sp: ShortestPaths, nodes: Iterable<number>, opts: ClusterOptions = {}): { clusters: PathCluster[]; unreachable: number; others: number } {
  // Hot loop over possibly 100,000s of objects: siblings share their parent's path, so the
  // normalised prefix is interned once per parent and each object adds only its last hop.
  const samples = opts.sampleIds ?? 5;
  const prefixIdOf = new Map<number, number>();        // parent node → interned prefix pattern
  const prefixIds = new Map<string, number>();
  const prefixes: string[][] = [];
  const lastIds = new Map<string, number>();
  const byPrefix: Map<number, PathCluster>[] = [];      // prefix id → (last id × classes + class) → cluster
  const all: PathCluster[] = [];
  const classCount = s.classNames.length;
  let unreachable = 0;
  const list: ArrayLike<number> = ArrayBuffer.isView(nodes) || Array.isArray(nodes) ? (nodes as ArrayLike<number>) : Array.from(nodes);
  for (let k = 0; k < list.length; k++) {
    const node = list[k];
    if (node === 0) continue;
    const e = sp.parentEdge[node];
    if (e === NONE) { unreachable++; continue; }
    const parent = sp.parentNode[node];
    let pid = prefixIdOf.get(parent);
    if (pid === undefined) {
      const parentPath = parent === 0 ? { labels: [] as string[] } : retainerPath(s, sp, parent);
      const pattern = (parentPath as RetainerPath).labels.map(normaliseLabel);
      const key = pattern.join('\u0000');
      pid = prefixIds.get(key);
      if (pid === undefined) { pid = prefixes.length; prefixIds.set(key, pid); prefixes.push(pattern); byPrefix.push(new Map()); }
      prefixIdOf.set(parent, pid);
    }
    const last = normalisedStepLabel(s, parent, e);
    let lid = lastIds.get(last);
    if (lid === undefined) { lid = lastIds.size; lastIds.set(last, lid); }
    const slot = lid * classCount + s.nodeClass[node];
    const clusters = byPrefix[pid];
    const hit = clusters.get(slot);
    if (hit) {
      hit.count++;
      if (hit.sampleIds.length < samples) hit.sampleIds.push(s.nodeId[node]);
      continue;
    }
    const path = retainerPath(s, sp, node) as RetainerPath;
    const pattern = last === '' ? prefixes[pid] : [...prefixes[pid], last];
    const cluster: PathCluster = { ...path, pattern, count: 1, sampleIds: [s.nodeId[node]] };
    clusters.set(slot, cluster);
    all.push(cluster);
  }
  all.sort((a, b) => b.count - a.count || a.labels.length - b.labels.length);
  const max = opts.maxClusters ?? 5;
  const clusters = all.slice(0, max);
  const others = all.slice(max).reduce((sum, c) => sum + c.count, 0);
  return { clusters, unreachable, others };
}

/** normaliseLabel(stepLabel(…)) without building the label ('' for a hop that renders nothing). */
function normalisedStepLabel(s: HeapSnapshot, from: number, e: number): string {
  const t = s.edgeType[e], c = s.edgeCodes;
  if (isSyntheticRoot(s, s.edgeTarget[e])) return '';
  if (t === c.element || t === c.hidden) return isSyntheticRoot(s, from) ? normaliseLabel(rootName(s, s.edgeTarget[e])) : '[*]';
  const name = s.strings[s.edgeNameOrIndex[e]];
  if (t === c.internal && !isSyntheticRoot(s, from) && isDigits(name)) return '[*]';
  return normaliseLabel(stepLabel(s, from, e) as string);
}

function isDigits(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) { const k = name.charCodeAt(i); if (k < 48 || k > 57) return false; }
  return true;
}
