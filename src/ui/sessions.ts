// Attached workers: one connection per worker, made by src/cdp/workerConnection.ts (the CLI's way
// too): a running agent, one injected (with progress and cancel), or a Node inspector. Sessions
// tell the views when a worker goes away, and the Workers view's rescans tell us when a pool child was replaced.
import * as vscode from 'vscode';
import type { DiscoveryFile, MemoryBreakdown, ProcessInfo } from '../protocol/agent';
import type { CdpClient } from '../cdp/client';
import { InjectError } from '../cdp/inject';
import { connectWorker, NodeCounter } from '../cdp/workerConnection';
import { objectCountsOfSummary } from '../model/snapshotCounts';
import type { HeapWorkerClient } from '../heapWorker/client';
import type { HeapWorkers } from './heapWorkers';
import type { WorkerRow } from '../model/workerList';
import type { HeapSource } from './heapView';
import { openDocs } from './docs';
import { isAlive } from '../cdp/procScan';

export interface Session extends HeapSource {
  /** The Workers view row of a local worker; null for a remote one. */
  readonly row: WorkerRow | null;
  /** A worker on another host, reached through a tunnel (src/ui/remoteSessions.ts); null when local. */
  readonly remote: RemoteSessionInfo | null;
  readonly client: CdpClient;
  readonly kind: 'python' | 'node';
  readonly info: ProcessInfo | null;
  readonly discovery: DiscoveryFile | null;
  /** ws:// URL (with token) to paste into chrome-remote-interface or DevTools. */
  endpointUrl(): string;
  /** A `.heapsnapshot` as it arrives, unparsed: the host only forwards it (to a file, to a heap worker thread). */
  streamSnapshot(signal: AbortSignal, onChunk: (c: string) => void, onProgress?: (done: number, total: number) => void): Promise<void>;
}

/** Where a remote session runs. Its Session.pid is a negative key (remote pids are not this machine's); the real pid is here. */
export interface RemoteSessionInfo { node: string; host: string; pid: number; processName: string | null; /** The tunnel command as run (argv joined). */ via: string }

export class SessionManager implements vscode.Disposable {
  private readonly sessions = new Map<number, Session>();
  private readonly onAttachedEmitter = new vscode.EventEmitter<Session>();
  private readonly onDetachedEmitter = new vscode.EventEmitter<{ session: Session; reason: string | null }>();
  readonly onDidAttach = this.onAttachedEmitter.event;
  /** reason null = the user detached; else why the worker went away. */
  readonly onDidDetach = this.onDetachedEmitter.event;
  private readonly onMeasuredEmitter = new vscode.EventEmitter<{ session: Session; breakdown: MemoryBreakdown }>();
  /** A memory breakdown some view asked for (the timeline keeps it as a sample instead of asking again). */
  readonly onDidMeasureMemory = this.onMeasuredEmitter.event;

  /** Node sessions' heap worker threads (their Heap view counts are parsed there, never on the host). */
  private readonly countWorkers = new Map<number, HeapWorkerClient>();
  /** What else ends with a session (a remote session's tunnel). */
  private readonly closers = new Map<number, () => void>();

  constructor(private readonly extensionUri: vscode.Uri, private readonly log: vscode.LogOutputChannel, private readonly heapWorkers: HeapWorkers) {}

  attachedPids(): ReadonlySet<number> { return new Set(this.sessions.keys()); }
  get(pid: number): Session | undefined { return this.sessions.get(pid); }
  all(): Session[] { return [...this.sessions.values()]; }

  /** Attaches with UI: progress, cancel, and one clear message when it fails. Resolves undefined on failure/cancel. */
  async attachWithUi(row: WorkerRow): Promise<Session | undefined> {
    const existing = this.sessions.get(row.pid);
    if (existing) return existing;
    try {
      return await vscode.window.withProgress({
        location: vscode.ProgressLocation.Notification, cancellable: true,
        title: `Worker Lens: attaching to ${describeRow(row)}`,
      }, (progress, token) => {
        const ac = new AbortController();
        token.onCancellationRequested(() => ac.abort());
        return this.attach(row, ac.signal, m => progress.report({ message: m }));
      });
    } catch (e) {
      await this.showAttachError(row, e);
      return undefined;
    }
  }

  async attach(row: WorkerRow, signal: AbortSignal, report: (m: string) => void = () => undefined): Promise<Session> {
    const config = vscode.workspace.getConfiguration('workerLens');
    const conn = await connectWorker({ pid: row.pid, kind: row.kind === 'node' ? 'node' : 'python', discovery: row.discovery, inspectorPort: row.inspectorPort, name: row.roleLabel }, {
      signal,
      progress: m => { report(m); this.log.info(`attach ${row.pid}: ${m}`); },
      injection: {
        allowed: config.get<boolean>('agent.allowInjection', true),
        python: config.get<string>('python.path') || undefined,
        agentDir: vscode.Uri.joinPath(this.extensionUri, 'agent').fsPath,
        refusedHint: 'injection is turned off: start the worker with --workerlens, or turn on workerLens.agent.allowInjection',
      },
      // Attach on a Node row opens its inspector the way VS Code's debugger does (SIGUSR1).
      activation: { allowed: true },
      log: m => this.log.trace(`[cdp ${row.pid}] ${m}`),
      nodeCounts: this.countInWorker(row.pid),
    });
    const session: Session = {
      kind: conn.kind, row, remote: null, client: conn.client, info: conn.info, discovery: conn.discovery, label: conn.label, pid: row.pid,
      countMethod: conn.kind === 'node' ? 'a full V8 heap snapshot' : 'a gc.get_objects() walk',
      endpointUrl: () => conn.endpointUrl(),
      getObjectCounts: async (s: AbortSignal) => (await conn.heapCounts({ signal: s })).result,
      streamSnapshot: (s, onChunk, onProgress) => conn.streamSnapshot({ signal: s, onChunk, onProgress }),
      role: conn.info?.role ?? conn.discovery?.role ?? null,
      getMemoryBreakdown: async (s: AbortSignal, untracked: boolean) => {
        const b = await conn.memoryBreakdown({ signal: s, untracked });
        if (this.sessions.get(row.pid) === session) this.onMeasuredEmitter.fire({ session, breakdown: b });
        return b;
      },
      trimMemory: conn.kind === 'python' ? () => conn.client.python.trimMemory({ timeoutMs: 60_000 }) : undefined,
    };
    this.sessions.set(row.pid, session);
    this.log.info(`attached to ${session.label} at ${session.client.endpoint?.label ?? '?'}`);
    session.client.onStateChange((state, detail) => {
      this.log.debug(`${session.label}: connection ${state}${detail ? ` (${detail})` : ''}`);
      if (state === 'closed' && this.sessions.get(row.pid) === session) this.drop(session, detail || 'the connection closed');
      // A dead process will not come back on the same pid: say so now instead of after the retries.
      if (state === 'reconnecting' && !isAlive(row.pid)) this.drop(session, 'the process exited');
    });
    this.onAttachedEmitter.fire(session);
    return session;
  }

  /** Adds a session made elsewhere (a remote one: src/ui/remoteSessions.ts); `onClose` runs when it ends for any reason. */
  adopt(session: Session, onClose: () => void): void {
    this.sessions.set(session.pid, session);
    this.closers.set(session.pid, onClose);
    this.log.info(`attached to ${session.label}`);
    session.client.onStateChange((state, detail) => {
      // detail may be the ws:// URL: its path is the agent's token, kept out of the log
      this.log.debug(`${session.label}: connection ${state}${detail ? ` (${detail.replace(/(wss?:\/\/[^/\s]+\/)\S*/g, '$1…')})` : ''}`);
      if (state === 'closed' && this.sessions.get(session.pid) === session) this.drop(session, detail || 'the connection closed');
    });
    this.onAttachedEmitter.fire(session);
  }

  /** Node counts: the snapshot streams into this session's heap worker thread, which answers per-class counts and then drops it. */
  private countInWorker(pid: number): NodeCounter {
    return async (stream, signal) => {
      let w = this.countWorkers.get(pid);
      if (!w?.alive) { w = this.heapWorkers.start(`Heap view counts of node pid ${pid}`); this.countWorkers.set(pid, w); }
      const parse = w.parseStream({ signal });
      // The worker is paused from the request until V8 has sent the last chunk (the reply).
      const t0 = Date.now();
      try { await stream(chunk => parse.write(chunk)); } finally { parse.end(); }
      const pauseMs = Date.now() - t0;
      const { nodeCount } = await parse.result;
      try {
        const { rows } = await w.request('summary', { retained: false }, { signal });
        return objectCountsOfSummary(rows, nodeCount, pauseMs);
      } finally {
        void w.request('release', {}).catch(() => undefined);
      }
    };
  }

  private endCounts(pid: number): void {
    void this.countWorkers.get(pid)?.dispose();
    this.countWorkers.delete(pid);
    const close = this.closers.get(pid);
    this.closers.delete(pid);
    close?.();
  }

  detach(pid: number): void {
    const s = this.sessions.get(pid);
    if (!s) return;
    this.sessions.delete(pid);
    s.client.dispose();
    this.endCounts(pid);
    this.log.info(`detached from ${s.label}`);
    this.onDetachedEmitter.fire({ session: s, reason: null });
  }

  /** The worker is gone (exited, or the connection could not be re-established). */
  drop(session: Session, reason: string): void {
    if (this.sessions.get(session.pid) !== session) return;
    this.sessions.delete(session.pid);
    session.client.dispose();
    this.endCounts(session.pid);
    this.log.warn(`${session.label} is gone: ${reason}`);
    this.onDetachedEmitter.fire({ session, reason });
  }

  private async showAttachError(row: WorkerRow, e: unknown): Promise<void> {
    if (e instanceof InjectError && e.code === 'cancelled') return;
    if ((e as Error)?.name === 'AbortError' || /cancelled/.test((e as Error)?.message ?? '')) return;
    const msg = e instanceof InjectError ? `${e.message}.${e.hint ? ' ' + e.hint.replace(/^./, c => c.toUpperCase()) + '.' : ''}` : (e as Error).message;
    this.log.error(`attach to ${describeRow(row)} failed: ${msg}`);
    const docs = 'How to allow it';
    const wantsDocs = e instanceof InjectError && ['ptrace-denied', 'unsupported-platform', 'injection-off'].includes(e.code);
    const choice = await vscode.window.showErrorMessage(`Cannot attach to ${describeRow(row)}: ${msg}`, ...(wantsDocs ? [docs] : []));
    if (choice === docs) await openDocs(this.extensionUri, 'ptrace');
  }

  dispose(): void {
    for (const s of this.sessions.values()) s.client.dispose();
    this.sessions.clear();
    for (const pid of new Set([...this.countWorkers.keys(), ...this.closers.keys()])) this.endCounts(pid);
    this.onAttachedEmitter.dispose();
    this.onDetachedEmitter.dispose();
    this.onMeasuredEmitter.dispose();
  }
}

export function describeRow(row: WorkerRow): string {
  if (row.kind === 'node') return `node ${row.roleLabel} (pid ${row.pid})`;
  return `${row.role === 'main' ? 'Celery main process' : row.roleLabel} (pid ${row.pid})`;
}
