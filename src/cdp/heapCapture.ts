// Takes a heap snapshot over CDP and parses it while it streams (the text is never held whole).
import type { CdpClient } from './client';
import { HeapSnapshot, SnapshotFormatError } from '../model/heapSnapshot';
import { SnapshotParser } from '../model/snapshotParser';

export interface CaptureOptions {
  signal?: AbortSignal;
  /** 0..1 as the worker reports it (walking the heap), then bytes as they arrive. */
  onProgress?: (done: number, total: number) => void;
  /** Also receives every chunk (to save a copy as a .heapsnapshot file). */
  onChunk?: (chunk: string) => void;
  idleTimeoutMs?: number;
}

export async function captureHeapSnapshot(client: CdpClient, opts: CaptureOptions = {}): Promise<HeapSnapshot> {
  const parser = new SnapshotParser();
  await client.heapProfiler.takeHeapSnapshot({
    signal: opts.signal, idleTimeoutMs: opts.idleTimeoutMs, onProgress: opts.onProgress,
    onChunk: chunk => { parser.write(chunk); opts.onChunk?.(chunk); },
  });
  try {
    return new HeapSnapshot(parser.end());
  } catch (e) {
    if (e instanceof SnapshotFormatError) throw new SnapshotFormatError(`${client.worker} sent an unusable heap snapshot: ${e.message}`);
    throw e;
  }
}
