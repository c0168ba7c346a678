// Pure: the Retainers panel's graph (src/protocol/webview.ts) from an analysed snapshot — the
// clustered shortest retainer paths of one type, merged into nodes and labelled edges, with sizes
// and dominators. A Python module global (module --name--> object) becomes one root node named by
// the global (`leaky_storage`), remembering the module's file so the panel can open its definition.
import type { HeapAnalysis } from './leakReport';
import { snapshotClassFor } from './leakReport';
import { NO_DOMINATOR } from './dominators';
import type { HeapSnapshot } from './heapSnapshot';
import type { EdgeType, RetainerEdge, RetainerGraph, RetainerNode, RetainerPath, RootKind } from '../protocol/webview';

export interface RetainerGraphOptions {
  maxPaths?: number;
  /** Shown in the panel header. */
  source?: string;
}

/** A root whose definition the host may look up in a file (the pure model reads no files). */
export interface RootDefinition { nodeId: string; file: string; name: string }

export function buildRetainerGraph(a: HeapAnalysis, type: string, opts: RetainerGraphOptions = {}): { graph: RetainerGraph; definitions: RootDefinition[] } {
  const s = a.snapshot;
  const python = isPythonSnapshot(s);
  const cls = snapshotClassFor(s, type);
  const r = a.retainerClusters(cls, { maxClusters: opts.maxPaths ?? 8 });
  const nodes = new Map<string, RetainerNode>();
  const edges = new Map<string, RetainerEdge>();
  const paths: RetainerPath[] = [];
  const definitions: RootDefinition[] = [];
  const node = (ord: number, label: string): RetainerNode => {
    const id = String(s.nodeId[ord]);
    let n = nodes.get(id);
    if (!n) {
      n = { id, type: s.className(ord), label, selfSize: s.nodeSelfSize[ord], retainedSize: a.dominators.retainedSize[ord] };
      const dom = a.dominators.idom[ord];
      if (dom !== NO_DOMINATOR && dom !== ord && dom !== 0) { n.dominatorId = String(s.nodeId[dom]); n.dominatorLabel = nodeTitle(s, dom); }
      nodes.set(id, n);
    }
    return n;
  };
  r.clusters.forEach((c, i) => {
    const ords = c.steps.map(st => s.ordinalOfId(st.nodeId));
    if (ords.some(o => o < 0) || !ords.length) return;
    let start = 0;
    let root: RetainerNode;
    const moduleFile = c.steps[0].nodeClass === 'module' ? moduleFileOf(s, ords[0]) : null;
    if (c.steps[0].nodeClass === 'module' && c.steps.length >= 2) {
      // `tasks` --leaky_storage--> list: one root named by the global, as the user wrote it.
      root = node(ords[1], c.steps[1].label);
      root.rootKind = 'module';
      root.label = c.steps[1].label;
      if (moduleFile) definitions.push({ nodeId: root.id, file: moduleFile, name: c.steps[1].label });
      start = 1;
    } else {
      root = node(ords[0], c.steps[0].label);
      root.rootKind = rootKindOf(c.steps[0].nodeClass, c.steps[0].edgeType, python);
    }
    const ids = [root.id];
    for (let k = start + 1; k < c.steps.length; k++) {
      const st = c.steps[k];
      const last = k === c.steps.length - 1;
      const n = node(ords[k], nodeTitle(s, ords[k]));
      if (last) n.isTarget = true;
      const key = `${ids[ids.length - 1]}\u0000${n.id}`;
      if (!edges.has(key)) edges.set(key, { from: ids[ids.length - 1], to: n.id, label: st.label, edgeType: st.edgeType as EdgeType });
      ids.push(n.id);
    }
    if (ids.length === 1) nodes.get(ids[0])!.isTarget = true; // the instance is itself held by a root
    paths.push({ id: `p${i}`, nodeIds: ids, instanceCount: c.count, exampleLabels: [c.text] });
  });
  const summary = a.classSummary(cls);
  return {
    graph: { targetType: type, instanceCount: summary?.count ?? 0, source: opts.source, nodes: [...nodes.values()], edges: [...edges.values()], paths },
    definitions,
  };
}

function rootKindOf(nodeClass: string, edgeType: string, python: boolean): RootKind {
  if (nodeClass.startsWith('thread') || nodeClass.startsWith('frame')) return 'thread';
  if (python) return 'gcRoot'; // the agent's "(gc roots)": objects the gc finds no referrer for
  if (edgeType === 'shortcut' || nodeClass.startsWith('global') || nodeClass === 'Window') return 'global';
  return 'v8GcRoot';
}

/** Snapshots written by the Python agent group module objects under a synthetic "(modules)" node. */
function isPythonSnapshot(s: HeapSnapshot): boolean {
  for (let e = s.firstEdge[0]; e < s.firstEdge[1]; e++) if (s.nodeName(s.edgeTarget[e]) === '(modules)') return true;
  return false;
}

/** How a node is named in the panel: a module by its name (`module tasks`), others as DevTools does (`Payload @2145`). */
function nodeTitle(s: HeapSnapshot, ord: number): string {
  const cls = s.className(ord);
  return cls === 'module' ? `module ${s.nodeName(ord)}` : `${cls} @${s.nodeId[ord]}`;
}

/** The agent stores a module's globals as property edges: `__file__` leads to a string node named by its value. */
export function moduleFileOf(s: HeapSnapshot, moduleOrd: number): string | null {
  for (let e = s.firstEdge[moduleOrd]; e < s.firstEdge[moduleOrd + 1]; e++) {
    if (s.edgeType[e] === s.edgeCodes.property && s.strings[s.edgeNameOrIndex[e]] === '__file__') {
      const f = s.nodeName(s.edgeTarget[e]);
      return f.endsWith('.py') ? f : null;
    }
  }
  return null;
}

/** 1-based line of a module-level definition of `name` (assignment, def or class), or null. */
export function findDefinitionLine(source: string, name: string): number | null {
  const esc = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`^(?:${esc}\\s*(?::[^=]*)?=(?!=)|(?:async\\s+)?def\\s+${esc}\\b|class\\s+${esc}\\b)`);
  const lines = source.split('\n');
  for (let i = 0; i < lines.length; i++) if (re.test(lines[i])) return i + 1;
  return null;
}
