// Heap worker threads (src/heapWorker/) started by the extension: each belongs to one owner (a
// .heapsnapshot editor, one Show Retainers run, a Node session's Heap view counts) and is
// terminated by it; this registry knows which are alive (for the log and the integration tests)
// and terminates any left at deactivation.
import * as vscode from 'vscode';
import { HeapWorkerClient } from '../heapWorker/client';

export interface LiveHeapWorker { purpose: string; threadId: number }

export class HeapWorkers implements vscode.Disposable {
  private readonly live = new Map<HeapWorkerClient, string>();
  private readonly ids = new Map<HeapWorkerClient, number>();

  constructor(private readonly extensionUri: vscode.Uri, private readonly log: vscode.LogOutputChannel) {}

  /** A new worker thread; the caller owns it and must dispose() it. */
  start(purpose: string): HeapWorkerClient {
    const script = vscode.Uri.joinPath(this.extensionUri, 'dist', 'heapWorker.js').fsPath;
    const w = new HeapWorkerClient(script, { log: m => this.log.warn(`${purpose}: ${m}`) });
    const id = w.threadId;
    this.live.set(w, purpose);
    this.ids.set(w, id);
    this.log.debug(`heap worker ${id} started: ${purpose}`);
    void w.whenExited().then(() => { this.live.delete(w); this.ids.delete(w); this.log.debug(`heap worker ${id} ended: ${purpose}`); });
    return w;
  }

  /** Workers not yet exited. */
  list(): LiveHeapWorker[] {
    return [...this.live].map(([w, purpose]) => ({ purpose, threadId: this.ids.get(w) ?? -1 }));
  }

  dispose(): void {
    for (const w of this.live.keys()) void w.dispose();
  }
}
