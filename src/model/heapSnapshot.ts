// A parsed heap snapshot as a graph over node ordinals (0 = root), with the per-node class names
// the views group by. Works the same for V8 snapshots and the Python agent's (src/protocol/snapshot.ts).
import { RawSnapshot, SnapshotFormatError } from './rawSnapshot';
import { SnapshotParser } from './snapshotParser';

export { SnapshotFormatError } from './rawSnapshot';

const NONE = 0xffffffff;

export class HeapSnapshot {
  readonly nodeCount: number;
  readonly edgeCount: number;
  readonly strings: string[];
  readonly nodeTypeNames: string[];
  readonly edgeTypeNames: string[];
  readonly nodeType: Uint32Array;
  readonly nodeNameIndex: Uint32Array;
  readonly nodeId: Uint32Array;
  readonly nodeSelfSize: Uint32Array;
  /** Edges of node i are firstEdge[i] .. firstEdge[i + 1] - 1. */
  readonly firstEdge: Uint32Array;
  readonly edgeType: Uint32Array;
  readonly edgeNameOrIndex: Uint32Array;
  /** Target node ordinal of each edge. */
  readonly edgeTarget: Uint32Array;
  /** Class (grouping name) index of each node, into classNames. */
  readonly nodeClass: Uint32Array;
  readonly classNames: string[];
  /** Edge type codes (NONE when the snapshot does not declare the type). */
  readonly edgeCodes: Readonly<Record<'context' | 'element' | 'property' | 'internal' | 'hidden' | 'shortcut' | 'weak', number>>;
  readonly nodeCodes: Readonly<Record<'hidden' | 'array' | 'string' | 'object' | 'code' | 'closure' | 'native' | 'synthetic', number>>;
  private idIndex: Map<number, number> | null = null;
  private byClass: { start: Uint32Array; members: Uint32Array } | null = null;

  constructor(raw: RawSnapshot) {
    const n = raw.nodeCount;
    this.nodeCount = n;
    this.edgeCount = raw.edgeCount;
    this.strings = raw.strings;
    this.nodeTypeNames = raw.nodeTypes;
    this.edgeTypeNames = raw.edgeTypes;
    this.nodeType = raw.nodeType;
    this.nodeNameIndex = raw.nodeName;
    this.nodeId = raw.nodeId;
    this.nodeSelfSize = raw.nodeSelfSize;
    this.edgeType = raw.edgeType;
    this.edgeNameOrIndex = raw.edgeNameOrIndex;
    if (n === 0) throw new SnapshotFormatError('heap snapshot has no nodes (node 0 must be the root)');
    const ec = (t: string) => { const k = raw.edgeTypes.indexOf(t); return k < 0 ? NONE : k; };
    const nc = (t: string) => { const k = raw.nodeTypes.indexOf(t); return k < 0 ? NONE : k; };
    this.edgeCodes = { context: ec('context'), element: ec('element'), property: ec('property'), internal: ec('internal'), hidden: ec('hidden'), shortcut: ec('shortcut'), weak: ec('weak') };
    this.nodeCodes = { hidden: nc('hidden'), array: nc('array'), string: nc('string'), object: nc('object'), code: nc('code'), closure: nc('closure'), native: nc('native'), synthetic: nc('synthetic') };

    // Edge ranges per node; the declared edge counts must add up exactly.
    const first = new Uint32Array(n + 1);
    let e = 0;
    for (let i = 0; i < n; i++) { first[i] = e; e += raw.nodeEdgeCount[i]; }
    first[n] = e;
    if (e !== raw.edgeCount) throw new SnapshotFormatError(`nodes declare ${e} edges in total but the snapshot holds ${raw.edgeCount}`);
    this.firstEdge = first;

    // to_node (index × field count) → ordinal, in place.
    const nf = raw.nodeFields.length;
    const to = raw.edgeToNode;
    const nStrings = raw.strings.length;
    const element = this.edgeCodes.element, hidden = this.edgeCodes.hidden;
    const nEdgeTypes = raw.edgeTypes.length;
    for (let k = 0; k < to.length; k++) {
      const v = to[k];
      const ord = v / nf;
      if (ord !== Math.floor(ord) || ord >= n) throw new SnapshotFormatError(`edge ${k} points to ${v}, which is not a node`);
      to[k] = ord;
      const t = raw.edgeType[k];
      if (t >= nEdgeTypes) throw new SnapshotFormatError(`edge ${k} has unknown type ${t}`);
      if (t !== element && t !== hidden && raw.edgeNameOrIndex[k] >= nStrings) throw new SnapshotFormatError(`edge ${k} names string ${raw.edgeNameOrIndex[k]}, past the end of 'strings'`);
    }
    this.edgeTarget = to;
    const nNodeTypes = raw.nodeTypes.length;
    for (let i = 0; i < n; i++) {
      if (raw.nodeType[i] >= nNodeTypes) throw new SnapshotFormatError(`node ${i} has unknown type ${raw.nodeType[i]}`);
      if (raw.nodeName[i] >= nStrings) throw new SnapshotFormatError(`node ${i} names string ${raw.nodeName[i]}, past the end of 'strings'`);
    }

    // Classes: objects and native objects group by name, everything else by "(type)".
    const classNames: string[] = [];
    const classByName = new Map<string, number>();
    const classOf = (name: string) => {
      let k = classByName.get(name);
      if (k === undefined) { k = classNames.length; classNames.push(name); classByName.set(name, k); }
      return k;
    };
    const byType = raw.nodeTypes.map(t => classOf(typeClassName(t)));
    const byString = new Int32Array(nStrings).fill(-1);
    const nodeClass = new Uint32Array(n);
    const object = this.nodeCodes.object, native = this.nodeCodes.native;
    for (let i = 0; i < n; i++) {
      const t = raw.nodeType[i];
      if (t === object || t === native) {
        const s = raw.nodeName[i];
        let k = byString[s];
        if (k < 0) { k = classOf(objectClassName(raw.strings[s])); byString[s] = k; }
        nodeClass[i] = k;
      } else {
        nodeClass[i] = byType[t];
      }
    }
    this.nodeClass = nodeClass;
    this.classNames = classNames;
  }

  nodeName(i: number): string { return this.strings[this.nodeNameIndex[i]]; }
  nodeTypeName(i: number): string { return this.nodeTypeNames[this.nodeType[i]]; }
  className(i: number): string { return this.classNames[this.nodeClass[i]]; }
  edgeTypeName(e: number): string { return this.edgeTypeNames[this.edgeType[e]]; }
  /** An edge's name: the property/variable name, or the index as a string for element/hidden edges. */
  edgeName(e: number): string {
    const t = this.edgeType[e];
    return t === this.edgeCodes.element || t === this.edgeCodes.hidden ? String(this.edgeNameOrIndex[e]) : this.strings[this.edgeNameOrIndex[e]];
  }
  isWeak(e: number): boolean { return this.edgeType[e] === this.edgeCodes.weak; }

  /** Ordinal of the node with this id, or -1. */
  ordinalOfId(id: number): number {
    if (!this.idIndex) {
      this.idIndex = new Map();
      for (let i = 0; i < this.nodeCount; i++) this.idIndex.set(this.nodeId[i], i);
    }
    return this.idIndex.get(id) ?? -1;
  }

  /** Ordinals of all nodes of a class (by class name), in node order. The first call indexes every class at once. */
  nodesOfClass(className: string): Uint32Array {
    const k = this.classNames.indexOf(className);
    if (k < 0) return new Uint32Array(0);
    if (!this.byClass) {
      const start = new Uint32Array(this.classNames.length + 1);
      for (let i = 0; i < this.nodeCount; i++) start[this.nodeClass[i] + 1]++;
      for (let c = 0; c < this.classNames.length; c++) start[c + 1] += start[c];
      const fill = start.slice(0, this.classNames.length);
      const members = new Uint32Array(this.nodeCount);
      for (let i = 0; i < this.nodeCount; i++) members[fill[this.nodeClass[i]]++] = i;
      this.byClass = { start, members };
    }
    return this.byClass.members.subarray(this.byClass.start[k], this.byClass.start[k + 1]);
  }
}

/** DevTools-style grouping name for non-object node types. */
function typeClassName(type: string): string {
  switch (type) {
    case 'hidden': return '(system)';
    case 'code': return '(compiled code)';
    case 'string': return '(string)';   // concatenated/sliced strings keep their own groups, as in DevTools
    default: return `(${type})`;
  }
}

/** Objects group by constructor name; V8 writes `global / <url>` style names for some. */
function objectClassName(name: string): string {
  return name === '' ? '(anonymous)' : name;
}

export interface LoadOptions {
  signal?: AbortSignal;
  /** Called with the bytes consumed so far. */
  onProgress?: (bytesRead: number) => void;
}

/** Parses a snapshot from any chunk source: a file read stream, or CDP `addHeapSnapshotChunk` strings. */
export async function loadHeapSnapshot(source: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>, opts: LoadOptions = {}): Promise<HeapSnapshot> {
  const parser = new SnapshotParser();
  for await (const chunk of source) {
    opts.signal?.throwIfAborted();
    parser.write(chunk);
    opts.onProgress?.(parser.bytesRead);
  }
  return new HeapSnapshot(parser.end());
}

/** Synchronous form for a snapshot already in memory (tests, small fixtures). */
export function parseHeapSnapshot(text: string | Uint8Array): HeapSnapshot {
  const parser = new SnapshotParser();
  parser.write(text);
  return new HeapSnapshot(parser.end());
}
