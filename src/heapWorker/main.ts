// Entry of the heap worker thread (bundled as dist/heapWorker.js): owns the snapshot parser and
// the analysis so the extension host never blocks on them. Requests run one at a time, in order;
// progress is posted at most every 100 ms; a request stops when the host marks it cancelled in
// the shared ring (checked between chunks and inside the long loops).
import { parentPort, workerData } from 'node:worker_threads';
import { CANCEL_SLOTS, FromHeapWorker, HeapWorkerData, HeapWorkerOp, HeapWorkerPhase, ToHeapWorker } from '../protocol/heapWorker';
import { CancelledError, errorName, HeapState } from './heapState';
import { ChunkQueue } from './chunkQueue';

const port = parentPort;
if (!port) throw new Error('src/heapWorker/main.ts runs only as a worker thread');
const cancelRing = new Int32Array((workerData as HeapWorkerData).cancel);
const state = new HeapState();
const streams = new Map<number, ChunkQueue>();
let queue: Promise<void> = Promise.resolve();

const post = (m: FromHeapWorker) => port.postMessage(m);
const streamOf = (id: number) => { let q = streams.get(id); if (!q) { q = new ChunkQueue(); streams.set(id, q); } return q; };

function handle(id: number, op: HeapWorkerOp, params: unknown): Promise<void> {
  const cancelled = () => Atomics.load(cancelRing, id % CANCEL_SLOTS) === id;
  let lastPost = 0;
  const ctx = {
    checkCancelled: () => { if (cancelled()) throw new CancelledError(`request ${id} (${op}) was cancelled`); },
    progress: (phase: HeapWorkerPhase, done: number, total: number) => {
      const now = Date.now();
      if (now - lastPost < 100) return;
      lastPost = now;
      post({ kind: 'progress', id, phase, done, total });
    },
    chunks: () => streamOf(id),
  };
  return (async () => {
    try {
      ctx.checkCancelled();
      const result = await state.run(op, params as never, ctx);
      post({ kind: 'result', id, result });
    } catch (e) {
      post({ kind: 'error', id, name: errorName(e), message: e instanceof Error ? e.message : String(e) });
    } finally {
      streams.delete(id);
    }
  })();
}

port.on('message', (m: ToHeapWorker) => {
  if (m.kind === 'request') queue = queue.then(() => handle(m.id, m.op, m.params));
  else if (m.kind === 'chunk') streamOf(m.id).push(m.data);
  else if (m.kind === 'end') streamOf(m.id).end();
});
post({ kind: 'ready' });
