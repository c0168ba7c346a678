// Streaming `.heapsnapshot` reader. Bytes (file reads) or strings (CDP `addHeapSnapshotChunk`)
// go in piece by piece; numbers are parsed digit by digit straight into typed-array columns chosen
// by `snapshot.meta` (never fixed offsets), and the `strings` array is decoded in chunk-sized
// batches, so no JS string ever holds more than one chunk (or one snapshot string) of the file.
import { RawSnapshot, SnapshotFormatError } from './rawSnapshot';

const enum Mode {
  Start, KeyOrEnd, Key, Colon, Capture, Skip, NumArrayStart, Numbers, StrArrayStart, Strings, Done,
}

const NODE_COLUMNS = ['type', 'name', 'id', 'self_size', 'edge_count'] as const;
const EDGE_COLUMNS = ['type', 'name_or_index', 'to_node'] as const;
const MAX_U32 = 0xffffffff;

interface NumberTarget {
  what: 'nodes' | 'edges';
  fieldCount: number;
  columns: (Uint32Array | null)[];   // one per meta field; null = field not kept
  capacity: number;                  // records; grows when counts were not declared
  fixed: boolean;                    // capacity came from node_count / edge_count
  field: number;
  record: number;
}

function isWs(b: number): boolean { return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09; }

export class SnapshotParser {
  private mode = Mode.Start;
  private key = '';
  private keyBytes: Uint8Array[] = [];
  private depth = 0;
  private inString = false;
  private escaped = false;
  private scalar = false;
  private captured: Uint8Array[] | null = null;
  private num = 0;
  private hasDigits = false;
  private comma = false;
  private target: NumberTarget | null = null;
  private strCarry: Uint8Array[] | null = null;   // a string element cut by a chunk boundary
  private readonly decoder = new TextDecoder('utf-8');
  private readonly encoder = new TextEncoder();
  private meta: Record<string, unknown> | null = null;
  private highSurrogate = '';
  private nodes: NumberTarget | null = null;
  private edges: NumberTarget | null = null;
  private strings: string[] | null = null;
  /** Bytes consumed so far (for progress). */
  bytesRead = 0;

  /** Feeds the next piece of the file. Throws SnapshotFormatError as soon as the input cannot be a snapshot. */
  write(chunk: string | Uint8Array): void {
    if (typeof chunk === 'string') {
      // A string chunk may end between the two halves of a surrogate pair: keep the first half.
      if (this.highSurrogate) { chunk = this.highSurrogate + chunk; this.highSurrogate = ''; }
      const last = chunk.charCodeAt(chunk.length - 1);
      if (last >= 0xd800 && last <= 0xdbff) { this.highSurrogate = chunk.slice(-1); chunk = chunk.slice(0, -1); }
    }
    try {
      this.writeBytes(typeof chunk === 'string' ? this.encoder.encode(chunk) : chunk);
    } catch (e) {
      if (e instanceof SyntaxError) throw new SnapshotFormatError(`heap snapshot has malformed JSON near byte ${this.bytesRead}`);
      throw e;
    }
  }

  private writeBytes(bytes: Uint8Array): void {
    this.bytesRead += bytes.length;
    let i = 0;
    const n = bytes.length;
    while (i < n) {
      switch (this.mode) {
        case Mode.Start: {
          const b = bytes[i];
          if (isWs(b) || (b === 0xef || b === 0xbb || b === 0xbf)) { i++; break; } // whitespace / UTF-8 BOM
          if (b !== 0x7b) throw new SnapshotFormatError('not a heap snapshot: it does not start with a JSON object');
          this.mode = Mode.KeyOrEnd; i++;
          break;
        }
        case Mode.KeyOrEnd: {
          const b = bytes[i];
          if (isWs(b) || b === 0x2c) { i++; break; }
          if (b === 0x7d) { this.mode = Mode.Done; i++; break; }
          if (b !== 0x22) throw new SnapshotFormatError(`not a heap snapshot: unexpected '${String.fromCharCode(b)}' at byte ${this.bytesRead - n + i}`);
          this.mode = Mode.Key; this.keyBytes = []; this.escaped = false; i++;
          break;
        }
        case Mode.Key: {
          const start = i;
          while (i < n && (this.escaped || bytes[i] !== 0x22)) { this.escaped = !this.escaped && bytes[i] === 0x5c; i++; }
          this.keyBytes.push(bytes.slice(start, i));
          if (i < n) {
            this.key = JSON.parse('"' + this.decoder.decode(concat(this.keyBytes)) + '"') as string;
            if (this.key.length > 200) throw new SnapshotFormatError('not a heap snapshot: unexpected top-level key');
            this.mode = Mode.Colon; i++;
          }
          break;
        }
        case Mode.Colon: {
          const b = bytes[i];
          if (isWs(b)) { i++; break; }
          if (b !== 0x3a) throw new SnapshotFormatError(`not a heap snapshot: expected ':' after "${this.key}"`);
          i++;
          this.beginValue();
          break;
        }
        case Mode.Capture:
        case Mode.Skip:
          i = this.skipValue(bytes, i);
          break;
        case Mode.NumArrayStart:
        case Mode.StrArrayStart: {
          const b = bytes[i];
          if (isWs(b)) { i++; break; }
          if (b !== 0x5b) throw new SnapshotFormatError(`'${this.key}' is not an array`);
          this.mode = this.mode === Mode.NumArrayStart ? Mode.Numbers : Mode.Strings; i++;
          break;
        }
        case Mode.Numbers:
          i = this.readNumbers(bytes, i);
          break;
        case Mode.Strings:
          i = this.readStrings(bytes, i);
          break;
        case Mode.Done: {
          if (!isWs(bytes[i])) throw new SnapshotFormatError('unexpected data after the end of the snapshot');
          i++;
          break;
        }
      }
    }
  }

  /** Ends the input and returns the columns. Throws SnapshotFormatError when the input was cut short or incomplete. */
  end(): RawSnapshot {
    if (this.mode !== Mode.Done) {
      const where = this.mode === Mode.Start ? 'before any data (empty input)' : `inside '${this.key}' after ${this.bytesRead} bytes`;
      throw new SnapshotFormatError(`heap snapshot ends early ${where}: the file is truncated or the stream was interrupted`);
    }
    if (!this.meta) throw new SnapshotFormatError("not a heap snapshot: no 'snapshot' metadata");
    if (!this.nodes || !this.edges || !this.strings) {
      const missing = [!this.nodes && 'nodes', !this.edges && 'edges', !this.strings && 'strings'].filter(Boolean).join(', ');
      throw new SnapshotFormatError(`heap snapshot has no ${missing}`);
    }
    const nodes = this.finishTarget(this.nodes, 'node_count');
    const edges = this.finishTarget(this.edges, 'edge_count');
    const m = this.metaFields();
    const col = (t: NumberTarget, fields: string[], name: string, count: number) => (t.columns[fields.indexOf(name)] as Uint32Array).subarray(0, count);
    return {
      nodeCount: nodes, edgeCount: edges,
      nodeFields: m.nodeFields, edgeFields: m.edgeFields, nodeTypes: m.nodeTypes, edgeTypes: m.edgeTypes,
      nodeType: col(this.nodes, m.nodeFields, 'type', nodes), nodeName: col(this.nodes, m.nodeFields, 'name', nodes),
      nodeId: col(this.nodes, m.nodeFields, 'id', nodes), nodeSelfSize: col(this.nodes, m.nodeFields, 'self_size', nodes),
      nodeEdgeCount: col(this.nodes, m.nodeFields, 'edge_count', nodes),
      edgeType: col(this.edges, m.edgeFields, 'type', edges), edgeNameOrIndex: col(this.edges, m.edgeFields, 'name_or_index', edges),
      edgeToNode: col(this.edges, m.edgeFields, 'to_node', edges),
      strings: this.strings,
    };
  }

  private finishTarget(t: NumberTarget, countKey: string): number {
    if (t.field !== 0) throw new SnapshotFormatError(`'${t.what}' holds ${t.record * t.fieldCount + t.field} numbers, not a multiple of its ${t.fieldCount} fields`);
    if (t.fixed && t.record !== t.capacity) throw new SnapshotFormatError(`'${t.what}' holds ${t.record} records but snapshot.${countKey} says ${t.capacity}`);
    return t.record;
  }

  private metaFields(): { nodeFields: string[]; edgeFields: string[]; nodeTypes: string[]; edgeTypes: string[] } {
    const meta = this.meta?.meta as Record<string, unknown> | undefined;
    if (!meta || typeof meta !== 'object') throw new SnapshotFormatError("not a heap snapshot: 'snapshot.meta' is missing");
    const strs = (v: unknown, what: string): string[] => {
      if (!Array.isArray(v) || !v.every(x => typeof x === 'string')) throw new SnapshotFormatError(`snapshot.meta.${what} is not a list of names`);
      return v as string[];
    };
    const nodeFields = strs(meta.node_fields, 'node_fields');
    const edgeFields = strs(meta.edge_fields, 'edge_fields');
    const firstList = (v: unknown, what: string) => strs(Array.isArray(v) ? v[0] : undefined, `${what}[0]`);
    return { nodeFields, edgeFields, nodeTypes: firstList(meta.node_types, 'node_types'), edgeTypes: firstList(meta.edge_types, 'edge_types') };
  }

  private beginValue(): void {
    this.depth = 0; this.inString = false; this.escaped = false; this.scalar = false;
    switch (this.key) {
      case 'snapshot':
        this.captured = [];
        this.mode = Mode.Capture;
        return;
      case 'nodes':
      case 'edges':
        this.target = this.makeTarget(this.key);
        this.num = 0; this.hasDigits = false; this.comma = true;
        this.mode = Mode.NumArrayStart;
        return;
      case 'strings':
        this.strings = [];
        this.strCarry = null; this.inString = false;
        this.mode = Mode.StrArrayStart;
        return;
      default:
        this.captured = null;
        this.mode = Mode.Skip;
    }
  }

  private makeTarget(what: 'nodes' | 'edges'): NumberTarget {
    if (!this.meta) throw new SnapshotFormatError(`heap snapshot lists '${what}' before its 'snapshot' metadata`);
    const m = this.metaFields();
    const fields = what === 'nodes' ? m.nodeFields : m.edgeFields;
    const wanted: readonly string[] = what === 'nodes' ? NODE_COLUMNS : EDGE_COLUMNS;
    for (const w of wanted) if (!fields.includes(w)) throw new SnapshotFormatError(`snapshot.meta.${what === 'nodes' ? 'node' : 'edge'}_fields lacks '${w}'`);
    const declared = this.meta[what === 'nodes' ? 'node_count' : 'edge_count'];
    const fixed = typeof declared === 'number' && Number.isInteger(declared) && declared >= 0;
    const capacity = fixed ? declared : 1024;
    const columns = fields.map(f => (wanted.includes(f) ? new Uint32Array(capacity) : null));
    const t: NumberTarget = { what, fieldCount: fields.length, columns, capacity, fixed, field: 0, record: 0 };
    if (what === 'nodes') this.nodes = t; else this.edges = t;
    return t;
  }

  /** Skips (or captures, for 'snapshot') one JSON value of any shape. Returns the next byte index. */
  private skipValue(bytes: Uint8Array, i: number): number {
    const n = bytes.length;
    const start = i;
    let done = false;
    while (i < n) {
      const b = bytes[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (b === 0x5c) this.escaped = true;
        else if (b === 0x22) { this.inString = false; if (this.depth === 0) { i++; done = true; break; } }
        i++;
        continue;
      }
      if (this.depth === 0 && !this.scalar) {
        if (isWs(b)) { i++; continue; }
        if (b === 0x22) { this.inString = true; i++; continue; }
        if (b === 0x7b || b === 0x5b) { this.depth = 1; i++; continue; }
        this.scalar = true;
      }
      if (this.scalar) {
        if (b === 0x2c || b === 0x7d || isWs(b)) { done = true; break; }  // the delimiter belongs to the parent
        i++;
        continue;
      }
      if (b === 0x22) this.inString = true;
      else if (b === 0x7b || b === 0x5b) this.depth++;
      else if (b === 0x7d || b === 0x5d) { this.depth--; if (this.depth === 0) { i++; done = true; break; } }
      i++;
    }
    if (this.captured) {
      this.captured.push(bytes.slice(start, i));
      if (this.captured.reduce((s, c) => s + c.length, 0) > 16 * 1024 * 1024) throw new SnapshotFormatError("'snapshot' metadata is implausibly large");
    }
    if (done) {
      if (this.captured) {
        let parsed: unknown;
        try { parsed = JSON.parse(this.decoder.decode(concat(this.captured))); } catch { throw new SnapshotFormatError("'snapshot' metadata is not valid JSON"); }
        if (!parsed || typeof parsed !== 'object') throw new SnapshotFormatError("'snapshot' metadata is not an object");
        this.meta = parsed as Record<string, unknown>;
        this.captured = null;
      }
      this.mode = Mode.KeyOrEnd;
    }
    return i;
  }

  /** The hot loop: unsigned decimal integers separated by commas/whitespace, until ']'. */
  private readNumbers(bytes: Uint8Array, i: number): number {
    const t = this.target as NumberTarget;
    const n = bytes.length;
    let num = this.num, has = this.hasDigits, comma = this.comma;
    let field = t.field, record = t.record;
    let col = t.columns[field];
    while (i < n) {
      const b = bytes[i++];
      if (b >= 0x30 && b <= 0x39) { num = num * 10 + (b - 0x30); has = true; comma = false; continue; }
      if (b === 0x2c || b === 0x5d || isWs(b)) {
        if (has) {
          if (record >= t.capacity) {
            if (t.fixed) throw new SnapshotFormatError(`'${t.what}' holds more records than snapshot.${t.what === 'nodes' ? 'node' : 'edge'}_count (${t.capacity}) says`);
            grow(t);
            col = t.columns[field];
          }
          if (num > MAX_U32) throw new SnapshotFormatError(`'${t.what}' holds ${num}, larger than 32 bits`);
          if (col !== null) col[record] = num;
          if (++field === t.fieldCount) { field = 0; record++; }
          col = t.columns[field];
          num = 0; has = false;
          comma = false;
        }
        if (b === 0x2c) {
          if (comma) throw new SnapshotFormatError(`'${t.what}' has an empty value`);
          comma = true;
        }
        if (b === 0x5d) { this.mode = Mode.KeyOrEnd; break; }
        continue;
      }
      throw new SnapshotFormatError(`'${t.what}' holds '${String.fromCharCode(b)}' where only unsigned integers are allowed`);
    }
    this.num = num; this.hasDigits = has; this.comma = comma; t.field = field; t.record = record;
    return i;
  }

  /**
   * The `strings` array: complete elements of this chunk are decoded together (one JSON.parse of
   * at most a chunk); an element cut by the chunk's end is carried over as bytes.
   */
  private readStrings(bytes: Uint8Array, i: number): number {
    const out = this.strings as string[];
    const n = bytes.length;
    if (this.strCarry) {
      // finish the element cut at the previous boundary
      const start = i;
      while (i < n && (this.escaped || bytes[i] !== 0x22)) { this.escaped = !this.escaped && bytes[i] === 0x5c; i++; }
      if (i === n) { this.strCarry.push(bytes.slice(start)); return n; }
      i++;
      this.strCarry.push(bytes.subarray(start, i));
      out.push(JSON.parse(this.decoder.decode(concat(this.strCarry))) as string);
      this.strCarry = null; this.inString = false;
    }
    let batchStart = -1, batchEnd = -1;   // bytes of complete elements (quotes to quotes, commas between)
    let elemStart = -1;
    let inStr = false, esc = false;
    while (i < n) {
      const b = bytes[i];
      if (inStr) {
        if (esc) esc = false;
        else if (b === 0x5c) esc = true;
        else if (b === 0x22) { inStr = false; batchEnd = i + 1; if (batchStart < 0) batchStart = elemStart; }
        i++;
        continue;
      }
      if (b === 0x22) { inStr = true; elemStart = i; i++; continue; }
      if (b === 0x2c || isWs(b)) { i++; continue; }
      if (b === 0x5d) { i++; this.mode = Mode.KeyOrEnd; break; }
      throw new SnapshotFormatError(`'strings' holds '${String.fromCharCode(b)}' where only strings are allowed`);
    }
    if (batchStart >= 0) {
      const parsed = JSON.parse('[' + this.decoder.decode(bytes.subarray(batchStart, batchEnd)) + ']') as string[];
      for (let k = 0; k < parsed.length; k++) out.push(parsed[k]);
    }
    if (inStr) { this.strCarry = [bytes.slice(elemStart, n)]; this.escaped = esc; }
    return i;
  }
}

function grow(t: NumberTarget): void {
  t.capacity *= 2;
  t.columns = t.columns.map(c => {
    if (!c) return null;
    const bigger = new Uint32Array(t.capacity);
    bigger.set(c);
    return bigger;
  });
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
