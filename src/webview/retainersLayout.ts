// Layered layout of clustered retainer paths, reading root (left) -> instance (right). Pure: no DOM,
// no d3, so it is unit tested in Node and benchmarked apart from drawing.
//
// What does not fit is collapsed instead of drawn: paths are admitted by instance count (biggest
// first) until a node budget is reached (the rest become one "+N more paths" group), a node shows at
// most `fanLimit` children (the rest become a "+N more" group hanging off it), and a node the user
// collapsed cuts every path through it. Expanding a group adds one page to its limit.

import { edgeKey, type EdgeType, type RetainerGraph, type RetainerNode } from '../protocol/webview';

export interface LayoutOptions {
  /** Real nodes drawn before the remaining paths fold into "+N more paths" (one page). */
  nodeBudget: number;
  /** Children shown per node before the rest fold into "+N more" (one page). */
  fanLimit: number;
  nodeWidth: number;
  nodeHeight: number;
  layerGap: number;
  rowGap: number;
}

export const DEFAULT_LAYOUT: LayoutOptions = { nodeBudget: 250, fanLimit: 8, nodeWidth: 220, nodeHeight: 44, layerGap: 110, rowGap: 14 };

/** What the user opened or closed; persisted by the webview across reloads. */
export interface LayoutViewState {
  /** Node ids whose onward paths are hidden. */
  collapsed: string[];
  /** Group id -> extra pages expanded: MORE_PATHS_ID or moreId(parent). */
  pages: Record<string, number>;
}

export const MORE_PATHS_ID = 'more:paths';
export const moreId = (parentId: string): string => `more:${parentId}`;

export interface HiddenCount { paths: number; instances: number }

export interface LaidNode {
  id: string;
  kind: 'node' | 'more';
  x: number;
  y: number;
  w: number;
  h: number;
  layer: number;
  /** The model's node (kind 'node'). */
  node?: RetainerNode;
  /** What a "+N more" group holds (kind 'more'); parentId absent for the global paths group. */
  more?: HiddenCount & { parentId?: string };
  /** Instances whose shown path ends here (targets). */
  instances: number;
  /** Shown paths going through this node. */
  paths: number;
  /** Set when the user collapsed this node: what its onward paths hold. */
  hiddenBehind?: HiddenCount;
}

export interface LaidEdge {
  id: string;
  from: string;
  to: string;
  label: string;
  edgeType: EdgeType | 'more';
  /** Instances of the target type reached through this edge by the shown paths. */
  instances: number;
  paths: number;
  /** SVG path data (cubic curve), and where the label goes. */
  d: string;
  labelX: number;
  labelY: number;
}

export interface RetainerLayout {
  nodes: LaidNode[];
  edges: LaidEdge[];
  byId: Map<string, LaidNode>;
  /** Node ids per layer, top to bottom: keyboard Up/Down. */
  layers: string[][];
  /** Drawn neighbours: keyboard Left (towards the root) and Right (towards instances). */
  preds: Map<string, string[]>;
  succs: Map<string, string[]>;
  width: number;
  height: number;
  /** Per path: shown in full, cut (collapsed / folded part way) or not shown at all. */
  pathStatus: Map<string, 'full' | 'cut' | 'hidden'>;
  stats: { totalNodes: number; shownNodes: number; totalPaths: number; shownPaths: number; hiddenPaths: number; hiddenInstances: number };
}

/** Lays out `graph` under `state`. O((N + E) log N) per call; 5,000 nodes take a few milliseconds. */
export function layoutRetainers(graph: RetainerGraph, state: LayoutViewState = { collapsed: [], pages: {} }, opts: LayoutOptions = DEFAULT_LAYOUT): RetainerLayout {
  const nodeById = new Map(graph.nodes.map(n => [n.id, n]));
  const edgeByKey = new Map(graph.edges.map(e => [edgeKey(e.from, e.to), e]));
  const collapsed = new Set(state.collapsed);
  const pages = (id: string): number => 1 + Math.max(0, state.pages[id] ?? 0);

  // Biggest clusters first; ties keep the model's order.
  const order = graph.paths.map((p, i) => ({ p, i })).sort((a, b) => b.p.instanceCount - a.p.instanceCount || a.i - b.i).map(x => x.p);

  const budget = opts.nodeBudget * pages(MORE_PATHS_ID);
  const shown = new Map<string, { appear: number; instances: number; paths: number }>();
  const children = new Map<string, Set<string>>();
  const edgeUse = new Map<string, { from: string; to: string; instances: number; paths: number }>();
  const overflow = new Map<string, HiddenCount>();
  const hiddenBehind = new Map<string, HiddenCount>();
  const pathStatus = new Map<string, 'full' | 'cut' | 'hidden'>();
  const globalHidden: HiddenCount = { paths: 0, instances: 0 };
  const bump = (m: Map<string, HiddenCount>, id: string, inst: number) => {
    const c = m.get(id) ?? { paths: 0, instances: 0 };
    c.paths++; c.instances += inst;
    m.set(id, c);
  };

  for (const p of order) {
    const ids = p.nodeIds.filter(id => nodeById.has(id));
    if (ids.length === 0) { pathStatus.set(p.id, 'hidden'); continue; }
    let cut = ids.length;
    for (let i = 0; i < ids.length - 1; i++) {
      if (collapsed.has(ids[i])) { cut = i + 1; bump(hiddenBehind, ids[i], p.instanceCount); break; }
    }
    let fresh = 0;
    for (let i = 0; i < cut; i++) if (!shown.has(ids[i])) fresh++;
    if (shown.size > 0 && shown.size + fresh > budget) {
      globalHidden.paths++; globalHidden.instances += p.instanceCount;
      pathStatus.set(p.id, 'hidden');
      continue;
    }
    for (let i = 0; i < cut - 1; i++) {
      const kids = children.get(ids[i]);
      if (kids?.has(ids[i + 1])) continue;
      if ((kids?.size ?? 0) >= opts.fanLimit * pages(moreId(ids[i]))) { cut = i + 1; bump(overflow, ids[i], p.instanceCount); break; }
      // Admit the step now so the next path sees this child when counting fan-out.
      if (kids) kids.add(ids[i + 1]); else children.set(ids[i], new Set([ids[i + 1]]));
    }
    pathStatus.set(p.id, cut === ids.length ? 'full' : 'cut');
    for (let i = 0; i < cut; i++) {
      let s = shown.get(ids[i]);
      if (!s) { s = { appear: shown.size, instances: 0, paths: 0 }; shown.set(ids[i], s); }
      s.paths++;
      if (i > 0) {
        const k = edgeKey(ids[i - 1], ids[i]);
        const u = edgeUse.get(k) ?? { from: ids[i - 1], to: ids[i], instances: 0, paths: 0 };
        u.instances += p.instanceCount; u.paths++;
        edgeUse.set(k, u);
      }
    }
    if (cut === ids.length) shown.get(ids[cut - 1])!.instances += p.instanceCount;
  }

  // Drawn items: real nodes, "+N more" groups, edges (group edges included).
  type Item = { id: string; appear: number; kind: 'node' | 'more' };
  const items: Item[] = [...shown].map(([id, s]) => ({ id, appear: s.appear, kind: 'node' as const }));
  const links: { from: string; to: string }[] = [...edgeUse.values()].map(u => ({ from: u.from, to: u.to }));
  for (const [parent] of overflow) {
    items.push({ id: moreId(parent), appear: shown.get(parent)!.appear + 0.5, kind: 'more' });
    links.push({ from: parent, to: moreId(parent) });
  }
  if (globalHidden.paths > 0) items.push({ id: MORE_PATHS_ID, appear: Number.MAX_SAFE_INTEGER, kind: 'more' });

  const preds = new Map<string, string[]>(), succs = new Map<string, string[]>();
  for (const it of items) { preds.set(it.id, []); succs.set(it.id, []); }
  for (const l of links) { succs.get(l.from)!.push(l.to); preds.get(l.to)!.push(l.from); }

  const layerOf = assignLayers(items.map(i => i.id), preds, succs);
  const layerCount = Math.max(0, ...layerOf.values()) + 1;
  const layers: string[][] = Array.from({ length: layerCount }, () => []);
  const appear = new Map(items.map(i => [i.id, i.appear]));
  for (const it of [...items].sort((a, b) => a.appear - b.appear)) layers[layerOf.get(it.id)!].push(it.id);
  orderLayers(layers, preds, succs, appear);

  // Coordinates: x by layer; y near the parents on the way down, then parents centred on children.
  const rowH = opts.nodeHeight + opts.rowGap;
  const y = new Map<string, number>();
  for (const layer of layers) {
    const want = layer.map((id, i) => mean(preds.get(id)!.filter(p => y.has(p)).map(p => y.get(p)!)) ?? i * rowH);
    pack(layer, want, rowH, y);
  }
  for (let l = layers.length - 2; l >= 0; l--) {
    const want = layers[l].map(id => mean(succs.get(id)!.filter(s => layerOf.get(s)! > l).map(s => y.get(s)!)) ?? y.get(id)!);
    pack(layers[l], want, rowH, y);
  }
  // The global "+N more paths" group reads as a footnote: last in its layer, below everything.
  if (y.has(MORE_PATHS_ID)) {
    const l0 = layers[layerOf.get(MORE_PATHS_ID)!];
    l0.splice(l0.indexOf(MORE_PATHS_ID), 1);
    l0.push(MORE_PATHS_ID);
    y.delete(MORE_PATHS_ID);
    y.set(MORE_PATHS_ID, Math.max(0, ...y.values()) + rowH);
  }
  const minY = Math.min(0, ...y.values());

  const nodes: LaidNode[] = [];
  const byId = new Map<string, LaidNode>();
  for (const it of items) {
    const n: LaidNode = {
      id: it.id, kind: it.kind, layer: layerOf.get(it.id)!, w: opts.nodeWidth, h: opts.nodeHeight,
      x: layerOf.get(it.id)! * (opts.nodeWidth + opts.layerGap), y: y.get(it.id)! - minY,
      instances: shown.get(it.id)?.instances ?? 0, paths: shown.get(it.id)?.paths ?? 0,
    };
    if (it.kind === 'node') {
      n.node = nodeById.get(it.id)!;
      const hb = hiddenBehind.get(it.id);
      if (hb) n.hiddenBehind = hb;
    } else if (it.id === MORE_PATHS_ID) {
      n.more = { ...globalHidden };
    } else {
      const parentId = it.id.slice('more:'.length);
      n.more = { ...overflow.get(parentId)!, parentId };
    }
    nodes.push(n);
    byId.set(n.id, n);
  }

  const edges: LaidEdge[] = [];
  for (const l of links) {
    const a = byId.get(l.from)!, b = byId.get(l.to)!;
    const use = edgeUse.get(edgeKey(l.from, l.to));
    const model = edgeByKey.get(edgeKey(l.from, l.to));
    const ov = b.more;
    const geo = edgeGeometry(a, b);
    edges.push({
      id: edgeKey(l.from, l.to), from: l.from, to: l.to,
      label: model?.label ?? '', edgeType: model?.edgeType ?? 'more',
      instances: use?.instances ?? ov?.instances ?? 0, paths: use?.paths ?? ov?.paths ?? 0, ...geo,
    });
  }

  let width = 0, height = 0;
  for (const n of nodes) { width = Math.max(width, n.x + n.w); height = Math.max(height, n.y + n.h); }
  return {
    nodes, edges, byId, layers, preds, succs, width, height, pathStatus,
    stats: {
      totalNodes: graph.nodes.length, shownNodes: shown.size, totalPaths: graph.paths.length,
      shownPaths: [...pathStatus.values()].filter(s => s !== 'hidden').length,
      hiddenPaths: globalHidden.paths, hiddenInstances: globalHidden.instances,
    },
  };
}

/**
 * Longest-path layering from the sources. Cycles (two paths crossing the same nodes in opposite
 * orders) are broken by ignoring DFS back edges, so every node gets a layer.
 */
function assignLayers(ids: string[], preds: Map<string, string[]>, succs: Map<string, string[]>): Map<string, number> {
  const state = new Map<string, 1 | 2>(); // 1 on stack, 2 done
  const back = new Set<string>();
  const visit = (start: string) => {
    const stack: { id: string; i: number }[] = [{ id: start, i: 0 }];
    state.set(start, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const out = succs.get(top.id)!;
      if (top.i < out.length) {
        const next = out[top.i++];
        const s = state.get(next);
        if (s === 1) back.add(edgeKey(top.id, next));
        else if (s === undefined) { state.set(next, 1); stack.push({ id: next, i: 0 }); }
      } else { state.set(top.id, 2); stack.pop(); }
    }
  };
  for (const id of ids) if (preds.get(id)!.length === 0 && !state.has(id)) visit(id);
  for (const id of ids) if (!state.has(id)) visit(id);

  const indeg = new Map<string, number>();
  for (const id of ids) indeg.set(id, preds.get(id)!.filter(p => !back.has(edgeKey(p, id))).length);
  const layer = new Map<string, number>();
  const queue = ids.filter(id => indeg.get(id) === 0);
  for (const id of queue) layer.set(id, 0);
  for (let q = 0; q < queue.length; q++) {
    const id = queue[q];
    for (const s of succs.get(id)!) {
      if (back.has(edgeKey(id, s))) continue;
      layer.set(s, Math.max(layer.get(s) ?? 0, layer.get(id)! + 1));
      const d = indeg.get(s)! - 1;
      indeg.set(s, d);
      if (d === 0) queue.push(s);
    }
  }
  return layer;
}

/** Barycentre sweeps (down, up, down, up, down: the last one follows the roots) against edge crossings; ties keep first appearance. */
function orderLayers(layers: string[][], preds: Map<string, string[]>, succs: Map<string, string[]>, appear: Map<string, number>): void {
  const pos = new Map<string, number>();
  const index = () => { for (const layer of layers) layer.forEach((id, i) => pos.set(id, i)); };
  index();
  for (let sweep = 0; sweep < 5; sweep++) {
    const down = sweep % 2 === 0;
    const seq = down ? layers.keys() : [...layers.keys()].reverse().values();
    for (const l of seq) {
      const layer = layers[l];
      const key = new Map<string, number>();
      for (const id of layer) {
        const nb = (down ? preds : succs).get(id)!.filter(n => pos.has(n));
        key.set(id, mean(nb.map(n => pos.get(n)!)) ?? pos.get(id)!);
      }
      layer.sort((a, b) => key.get(a)! - key.get(b)! || (a.startsWith('more:') ? 1 : 0) - (b.startsWith('more:') ? 1 : 0) || appear.get(a)! - appear.get(b)!);
      layer.forEach((id, i) => pos.set(id, i));
    }
  }
}

/** Places a layer's nodes in order at their wanted y, never closer than rowH. */
function pack(layer: string[], want: number[], rowH: number, y: Map<string, number>): void {
  let prev = -Infinity;
  for (let i = 0; i < layer.length; i++) {
    const v = Math.max(want[i], prev + rowH);
    y.set(layer[i], v);
    prev = v;
  }
}

function mean(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** A horizontal S-curve from the right side of `a` to the left side of `b` (looping round for back edges). */
export function edgeGeometry(a: { x: number; y: number; w: number; h: number }, b: { x: number; y: number; w: number; h: number }): { d: string; labelX: number; labelY: number } {
  const x1 = a.x + a.w, y1 = a.y + a.h / 2, x2 = b.x, y2 = b.y + b.h / 2;
  if (x2 > x1) {
    const c = (x2 - x1) / 2;
    // The label sits at t = 0.7 on the curve, near the target's height: labels of edges fanning out
    // of one node then stack like their targets instead of piling up at the source.
    const t = 0.7, u = 1 - t;
    const bx = u * u * u * x1 + 3 * u * u * t * (x1 + c) + 3 * u * t * t * (x2 - c) + t * t * t * x2;
    const by = (u * u * u + 3 * u * u * t) * y1 + (3 * u * t * t + t * t * t) * y2;
    return { d: `M${r(x1)},${r(y1)}C${r(x1 + c)},${r(y1)} ${r(x2 - c)},${r(y2)} ${r(x2)},${r(y2)}`, labelX: r(bx), labelY: r(by) };
  }
  // Back edge: leave right, come back in from the left, below both nodes.
  const low = Math.max(a.y + a.h, b.y + b.h) + 24;
  return { d: `M${r(x1)},${r(y1)}C${r(x1 + 60)},${r(low)} ${r(x2 - 60)},${r(low)} ${r(x2)},${r(y2)}`, labelX: r((x1 + x2) / 2), labelY: r(low) };
}

const r = (v: number): number => Math.round(v * 10) / 10;

/** Shortens a label to `max` characters with an ellipsis in the middle (keeps both ends readable). */
export function truncateMiddle(s: string, max: number): string {
  if (s.length <= max) return s;
  if (max <= 1) return '…';
  const head = Math.ceil((max - 1) / 2), tail = Math.floor((max - 1) / 2);
  return s.slice(0, head) + '…' + (tail > 0 ? s.slice(s.length - tail) : '');
}
