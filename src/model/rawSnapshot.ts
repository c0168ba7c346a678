// The columns a `.heapsnapshot` is read into (struct of arrays, one typed array per kept field).

/** The input is not a usable heap snapshot (truncated, not JSON, inconsistent counts): say which. */
export class SnapshotFormatError extends Error {
  override name = 'SnapshotFormatError';
}

export interface RawSnapshot {
  nodeCount: number;
  edgeCount: number;
  nodeFields: string[];
  edgeFields: string[];
  /** meta.node_types[0] / meta.edge_types[0]: type code → name. */
  nodeTypes: string[];
  edgeTypes: string[];
  nodeType: Uint32Array;
  nodeName: Uint32Array;       // index into strings
  nodeId: Uint32Array;
  nodeSelfSize: Uint32Array;
  nodeEdgeCount: Uint32Array;
  edgeType: Uint32Array;
  edgeNameOrIndex: Uint32Array; // string index, or the index itself for element/hidden edges
  edgeToNode: Uint32Array;      // as in the file: target node index × node field count
  strings: string[];
}
