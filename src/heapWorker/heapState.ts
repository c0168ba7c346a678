// What a heap worker thread holds and answers (src/protocol/heapWorker.ts): one parsed snapshot and,
// once a query needs it, its analysis. Runs inside the worker (main.ts); kept free of the thread
// plumbing so unit tests can drive it in-process.
import fs from 'node:fs';
import { HeapSnapshot, SnapshotFormatError } from '../model/heapSnapshot';
import { SnapshotParser } from '../model/snapshotParser';
import { HeapAnalysis, snapshotClassFor } from '../model/leakReport';
import { summarizeByClass } from '../model/summary';
import { buildRetainerGraph } from '../model/retainerGraph';
import { NO_DOMINATOR } from '../model/dominators';
import type {
  DominatorChain, HeapWorkerErrorName, HeapWorkerOp, HeapWorkerOps, HeapWorkerPhase, OpParams, OpResult, ParseResult, SnapshotSource,
} from '../protocol/heapWorker';

export class CancelledError extends Error { override name = 'CancelledError'; }
export class NoSnapshotError extends Error { override name = 'NoSnapshotError'; }

/** How a request talks back: progress, and a check that throws CancelledError once it was cancelled. */
export interface RequestContext {
  progress(phase: HeapWorkerPhase, done: number, total: number): void;
  checkCancelled(): void;
  /** The chunks of a {kind:'stream'} parse, as the host posts them. */
  chunks(): AsyncIterable<string | Uint8Array>;
}

export function errorName(e: unknown): HeapWorkerErrorName {
  if (e instanceof SnapshotFormatError) return 'SnapshotFormatError';
  if (e instanceof CancelledError) return 'CancelledError';
  if (e instanceof NoSnapshotError) return 'NoSnapshotError';
  return 'Error';
}

type Handlers = { [O in HeapWorkerOp]: (params: OpParams<O>, ctx: RequestContext) => Promise<OpResult<O>> | OpResult<O> };

export class HeapState {
  private snapshot: HeapSnapshot | null = null;
  private analysis: HeapAnalysis | null = null;

  run<O extends HeapWorkerOp>(op: O, params: HeapWorkerOps[O][0], ctx: RequestContext): Promise<OpResult<O>> {
    const h = this.handlers[op] as (p: OpParams<O>, c: RequestContext) => Promise<OpResult<O>> | OpResult<O>;
    if (!h) return Promise.reject(new Error(`unknown heap worker operation '${String(op)}'`));
    return Promise.resolve().then(() => h(params, ctx));
  }

  private readonly handlers: Handlers = {
    parse: async ({ source }, ctx) => {
      this.snapshot = null;   // the old one goes before the new one is built (peak memory)
      this.analysis = null;
      const t0 = Date.now();
      const { snapshot, bytes } = await parseSnapshot(source, ctx);
      this.snapshot = snapshot;
      return { nodeCount: snapshot.nodeCount, edgeCount: snapshot.edgeCount, bytes, parseMs: Date.now() - t0 } satisfies ParseResult;
    },
    summary: ({ retained, limit }, ctx) => {
      const s = this.need();
      const t0 = Date.now();
      const built = retained && !this.analysis;
      const rows = retained ? this.analyse(ctx).summary : summarizeByClass(s);
      let totalSelfSize = 0;
      for (const r of rows) totalSelfSize += r.selfSize;
      return { rows: limit !== undefined ? rows.slice(0, limit) : rows, nodeCount: s.nodeCount, totalSelfSize, analysisMs: built ? Date.now() - t0 : 0 };
    },
    retainers: ({ type, maxClusters }, ctx) => {
      const a = this.analyse(ctx);
      const cls = snapshotClassFor(a.snapshot, type);
      const r = a.retainerClusters(cls, { maxClusters: maxClusters ?? 3 });
      return { type, instanceCount: a.classSummary(cls)?.count ?? 0, clusters: r.clusters, unreachable: r.unreachable, others: r.others };
    },
    dominators: ({ nodeIds, maxDepth }, ctx) => {
      const a = this.analyse(ctx);
      const s = a.snapshot;
      const chains: DominatorChain[] = nodeIds.map(nodeId => {
        const chain: DominatorChain['chain'] = [];
        let ord = s.ordinalOfId(nodeId);
        for (let depth = 0; ord > 0 && ord !== NO_DOMINATOR && depth < (maxDepth ?? 50); depth++) {
          chain.push({ nodeId: s.nodeId[ord], className: s.className(ord), retainedSize: a.dominators.retainedSize[ord] });
          const up = a.dominators.idom[ord];
          if (up === ord) break;
          ord = up;
        }
        return { nodeId, chain };
      });
      return { chains };
    },
    graph: ({ type, maxPaths, source }, ctx) => buildRetainerGraph(this.analyse(ctx), type, { maxPaths, source }),
    release: () => {
      this.snapshot = null;
      this.analysis = null;
      return {};
    },
  };

  private need(): HeapSnapshot {
    if (!this.snapshot) throw new NoSnapshotError('no snapshot is loaded in this heap worker (parse one first)');
    return this.snapshot;
  }

  private analyse(ctx: RequestContext): HeapAnalysis {
    if (this.analysis) return this.analysis;
    const s = this.need();
    this.analysis = new HeapAnalysis(s, (phase, done, total) => { ctx.checkCancelled(); ctx.progress(phase, done, total); });
    return this.analysis;
  }
}

async function parseSnapshot(source: SnapshotSource, ctx: RequestContext): Promise<{ snapshot: HeapSnapshot; bytes: number }> {
  const parser = new SnapshotParser();
  let total = 0;
  let chunks: AsyncIterable<string | Uint8Array>;
  if (source.kind === 'file') {
    total = (await fs.promises.stat(source.path)).size;
    chunks = fs.createReadStream(source.path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>;
  } else {
    chunks = ctx.chunks();
  }
  for await (const chunk of chunks) {
    ctx.checkCancelled();
    parser.write(chunk);
    ctx.progress('parse', parser.bytesRead, total);
  }
  ctx.checkCancelled();
  ctx.progress('index', 0, 1);
  const snapshot = new HeapSnapshot(parser.end());
  return { snapshot, bytes: parser.bytesRead };
}
