// The extension host's side of a heap worker thread (src/protocol/heapWorker.ts): typed requests
// with AbortSignal and progress, streamed parses, and a lifetime the owner ends with dispose()
// (the thread is terminated, so the snapshot and its analysis are freed at once). A worker that
// dies (out of memory, a bug) rejects what was pending with a message that says so; the host stays up.
import { Worker } from 'node:worker_threads';
import {
  CANCEL_SLOTS, FromHeapWorker, HeapWorkerData, HeapWorkerErrorName, HeapWorkerOp, HeapWorkerPhase, OpParams, OpResult, ParseResult, ToHeapWorker,
} from '../protocol/heapWorker';

export class HeapWorkerError extends Error {
  constructor(readonly kind: HeapWorkerErrorName | 'exited', message: string) {
    super(message);
    this.name = kind === 'Error' ? 'HeapWorkerError' : kind;
  }
}

export interface RequestOptions {
  signal?: AbortSignal;
  onProgress?: (phase: HeapWorkerPhase, done: number, total: number) => void;
}

export interface HeapWorkerOptions {
  /** Old-space limit of the worker's JS heap, MB (the typed arrays live outside it). Default 4096. */
  maxOldGenerationSizeMb?: number;
  log?: (message: string) => void;
}

interface Pending { op: HeapWorkerOp; resolve(v: unknown): void; reject(e: Error): void; onProgress?: RequestOptions['onProgress'] }

/** A streamed parse: write() each chunk as it arrives, end() after the last; `result` settles after. */
export interface ParseStream {
  write(chunk: string | Uint8Array): void;
  end(): void;
  readonly result: Promise<ParseResult>;
}

export class HeapWorkerClient {
  private readonly worker: Worker;
  private readonly cancelRing = new Int32Array(new SharedArrayBuffer(4 * CANCEL_SLOTS));
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private exitReason: string | null = null;
  private readonly exited: Promise<void>;

  constructor(scriptPath: string, opts: HeapWorkerOptions = {}) {
    const data: HeapWorkerData = { cancel: this.cancelRing.buffer as SharedArrayBuffer };
    this.worker = new Worker(scriptPath, { workerData: data, resourceLimits: { maxOldGenerationSizeMb: opts.maxOldGenerationSizeMb ?? 4096 } });
    this.worker.on('message', (m: FromHeapWorker) => this.onMessage(m));
    this.worker.on('error', e => { opts.log?.(`heap worker failed: ${e.message}`); this.fail(describeExit(e)); });
    this.exited = new Promise(resolve => this.worker.once('exit', code => { this.fail(this.exitReason ?? `it exited with code ${code}`); resolve(); }));
  }

  /** Thread id (for logs and tests). */
  get threadId(): number { return this.worker.threadId; }
  get alive(): boolean { return this.exitReason === null; }
  /** Settles once the thread has exited (disposed, crashed or out of memory). */
  whenExited(): Promise<void> { return this.exited; }

  request<O extends HeapWorkerOp>(op: O, params: OpParams<O>, opts: RequestOptions = {}): Promise<OpResult<O>> {
    return this.start(op, params, opts).result as Promise<OpResult<O>>;
  }

  parseFile(path: string, opts: RequestOptions = {}): Promise<ParseResult> {
    return this.request('parse', { source: { kind: 'file', path } }, opts);
  }

  parseStream(opts: RequestOptions = {}): ParseStream {
    const { id, result } = this.start('parse', { source: { kind: 'stream' } }, opts);
    result.catch(() => undefined); // a caller whose stream failed first may never await it
    let ended = false;
    const send = (m: ToHeapWorker) => { if (this.alive) this.worker.postMessage(m); };
    opts.signal?.addEventListener('abort', () => { if (!ended) { ended = true; send({ kind: 'end', id }); } }, { once: true });
    return {
      write: chunk => { if (!ended) send({ kind: 'chunk', id, data: chunk }); },
      end: () => { if (!ended) { ended = true; send({ kind: 'end', id }); } },
      result: result as Promise<ParseResult>,
    };
  }

  /** Terminates the thread: everything it held is freed. Pending requests reject. Idempotent. */
  async dispose(): Promise<void> {
    if (this.alive) {
      this.exitReason = 'it was closed';
      await this.worker.terminate();
    }
    await this.exited;
  }

  private start(op: HeapWorkerOp, params: unknown, opts: RequestOptions): { id: number; result: Promise<unknown> } {
    const id = this.nextId++;
    if (!this.alive) return { id, result: Promise.reject(new HeapWorkerError('exited', `the heap worker is not running (${this.exitReason})`)) };
    const result = new Promise<unknown>((resolve, reject) => {
      const settle = () => { this.pending.delete(id); opts.signal?.removeEventListener('abort', onAbort); };
      const onAbort = () => {
        // The worker sees the mark at its next check (between chunks, inside long loops) and stops.
        Atomics.store(this.cancelRing, id % CANCEL_SLOTS, id);
        settle();
        reject(new HeapWorkerError('CancelledError', `${op} was cancelled`));
      };
      if (opts.signal?.aborted) { onAbort(); return; }
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        op, onProgress: opts.onProgress,
        resolve: v => { settle(); resolve(v); },
        reject: e => { settle(); reject(e); },
      });
      this.worker.postMessage({ kind: 'request', id, op, params } satisfies ToHeapWorker);
    });
    return { id, result };
  }

  private onMessage(m: FromHeapWorker): void {
    if (m.kind === 'ready') return;
    const p = this.pending.get(m.id);
    if (!p) return; // cancelled here already
    if (m.kind === 'progress') { try { p.onProgress?.(m.phase, m.done, m.total); } catch { /* a listener's bug is not the worker's */ } }
    else if (m.kind === 'result') p.resolve(m.result);
    else p.reject(new HeapWorkerError(m.name, m.message));
  }

  private fail(reason: string): void {
    this.exitReason ??= reason;
    for (const p of [...this.pending.values()]) p.reject(new HeapWorkerError('exited', `the heap analysis stopped: ${this.exitReason}`));
    this.pending.clear();
  }
}

function describeExit(e: Error): string {
  if ((e as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY') return 'the snapshot needs more memory than the heap worker may use; analyse it from a terminal with `workerlens heap FILE` (node --max-old-space-size=MB)';
  return e.message;
}
