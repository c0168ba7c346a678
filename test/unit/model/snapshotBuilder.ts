// Builds small `.heapsnapshot` texts by hand for tests: nodes by index, edges by target index.
export const NODE_TYPES = ['hidden', 'array', 'string', 'object', 'code', 'closure', 'regexp', 'number', 'native', 'synthetic', 'concatenated string', 'sliced string', 'symbol', 'bigint', 'object shape'];
export const EDGE_TYPES = ['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak'];

export type EdgeSpec = [type: string, nameOrIndex: string | number, to: number];
export interface NodeSpec { type: string; name: string; id?: number; size?: number; edges?: EdgeSpec[] }

export interface BuildOptions {
  /** Field order in meta (tests that the reader follows meta, not fixed offsets). */
  nodeFields?: string[];
  edgeFields?: string[];
  /** Extra top-level keys written before "strings". */
  extra?: Record<string, unknown>;
}

export function buildSnapshot(nodes: NodeSpec[], opts: BuildOptions = {}): string {
  const nodeFields = opts.nodeFields ?? ['type', 'name', 'id', 'self_size', 'edge_count', 'trace_node_id', 'detachedness'];
  const edgeFields = opts.edgeFields ?? ['type', 'name_or_index', 'to_node'];
  const strings: string[] = ['<dummy>'];
  const index = new Map<string, number>();
  const str = (s: string) => { let k = index.get(s); if (k === undefined) { k = strings.length; strings.push(s); index.set(s, k); } return k; };
  const flatNodes: number[] = [];
  const flatEdges: number[] = [];
  nodes.forEach((nd, i) => {
    const values: Record<string, number> = {
      type: NODE_TYPES.indexOf(nd.type), name: str(nd.name), id: nd.id ?? i * 2 + 1, self_size: nd.size ?? 10,
      edge_count: (nd.edges ?? []).length, trace_node_id: 0, detachedness: 0,
    };
    if (values.type < 0) throw new Error(`bad node type ${nd.type}`);
    for (const f of nodeFields) flatNodes.push(values[f] ?? 0);
    for (const [type, name, to] of nd.edges ?? []) {
      const t = EDGE_TYPES.indexOf(type);
      if (t < 0) throw new Error(`bad edge type ${type}`);
      const ev: Record<string, number> = { type: t, name_or_index: typeof name === 'number' ? name : str(name), to_node: to * nodeFields.length };
      for (const f of edgeFields) flatEdges.push(ev[f] ?? 0);
    }
  });
  const meta = {
    node_fields: nodeFields, node_types: [NODE_TYPES, 'string', 'number', 'number', 'number', 'number', 'number'],
    edge_fields: edgeFields, edge_types: [EDGE_TYPES, 'string_or_number', 'node'],
  };
  const head = { meta, node_count: nodes.length, edge_count: flatEdges.length / edgeFields.length, trace_function_count: 0 };
  const extra = Object.entries(opts.extra ?? {}).map(([k, v]) => `,\n${JSON.stringify(k)}:${JSON.stringify(v)}`).join('');
  return `{"snapshot":${JSON.stringify(head)},\n"nodes":[${flatNodes.join(',')}],\n"edges":[${flatEdges.join(',')}]${extra},\n"strings":${JSON.stringify(strings)}}`;
}

/** Splits text into pieces of the given sizes, cycling (exercises every chunk boundary). */
export function chunks(text: string | Uint8Array, sizes: number[]): Uint8Array[] {
  const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : text;
  const out: Uint8Array[] = [];
  for (let i = 0, k = 0; i < bytes.length; k++) { const n = sizes[k % sizes.length]; out.push(bytes.subarray(i, i + n)); i += n; }
  return out;
}
