// Retained sizes per type for the Heap view: a snapshot that streams in is also parsed in a heap
// worker thread (never on the host), whose dominator tree — the Retainers panel's very analysis —
// gives each class's retained bytes; the thread ends as soon as the figures are out.
import * as vscode from 'vscode';
import type { HeapWorkers } from './heapWorkers';
import type { HeapWorkerClient } from '../heapWorker/client';
import { RetainedSizes, retainedSizesOf } from '../model/heapTable';

export interface RetainedSink {
  /** Feed the snapshot's chunks as they arrive. */
  write(chunk: string): void;
  /** The snapshot is complete: analyse it and hand the figures over (in the background). */
  finish(at: number, onRetained: (r: RetainedSizes) => void): void;
  /** The snapshot failed or was cancelled. */
  abort(): void;
}

export function retainedSink(workers: HeapWorkers, label: string, origin: string, log: vscode.LogOutputChannel): RetainedSink {
  const worker: HeapWorkerClient = workers.start(`retained sizes of ${label}`);
  const ac = new AbortController();
  const parse = worker.parseStream({ signal: ac.signal });
  const end = () => { void worker.dispose(); };
  return {
    write: c => parse.write(c),
    abort: () => { ac.abort(); parse.end(); end(); },
    finish: (at, onRetained) => {
      parse.end();
      void vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Worker Lens: retained sizes of ${label}` }, async () => {
        try {
          await parse.result;
          const { rows } = await worker.request('summary', { retained: true }, { signal: ac.signal });
          onRetained(retainedSizesOf(rows, at, origin));
        } catch (e) {
          log.warn(`retained sizes of ${label}: ${(e as Error).message}`);
        } finally { end(); }
      });
    },
  };
}
