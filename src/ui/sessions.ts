// Attached workers: one CdpClient per worker, made by connecting to a running agent, injecting one
// (with progress and cancel), or connecting to a Node inspector. Sessions tell the views when a
// worker goes away, and the Workers view's rescans tell us when a pool child was replaced.
import * as vscode from 'vscode';
import type { DiscoveryFile, GetObjectCountsResult, ObjectCount, ProcessInfo } from '../protocol/agent';
import { CdpClient } from '../cdp/client';
import { endpointFromDiscovery, readDiscoveryFile, workerLabel } from '../cdp/discovery';
import { resolveConnectTarget } from '../cdp/endpoint';
import { injectAgent, InjectError } from '../cdp/inject';
import { captureHeapSnapshot } from '../cdp/heapCapture';
import { countsByClass } from '../model/summary';
import type { HeapSnapshot } from '../model/heapSnapshot';
import type { WorkerRow } from '../model/workerList';
import type { HeapSource } from './heapView';
import { openDocs } from './docs';
import { isAlive } from '../cdp/procScan';

export interface Session extends HeapSource {
  readonly row: WorkerRow;
  readonly client: CdpClient;
  readonly kind: 'python' | 'node';
  readonly info: ProcessInfo | null;
  readonly discovery: DiscoveryFile | null;
  /** ws:// URL (with token) to paste into chrome-remote-interface or DevTools. */
  endpointUrl(): string;
  snapshot(signal: AbortSignal, onProgress?: (done: number, total: number) => void, onChunk?: (c: string) => void): Promise<HeapSnapshot>;
}

export class SessionManager implements vscode.Disposable {
  private readonly sessions = new Map<number, Session>();
  private readonly onAttachedEmitter = new vscode.EventEmitter<Session>();
  private readonly onDetachedEmitter = new vscode.EventEmitter<{ session: Session; reason: string | null }>();
  readonly onDidAttach = this.onAttachedEmitter.event;
  /** reason null = the user detached; else why the worker went away. */
  readonly onDidDetach = this.onDetachedEmitter.event;

  constructor(private readonly extensionUri: vscode.Uri, private readonly log: vscode.LogOutputChannel) {}

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
    const session = row.kind === 'node' ? await this.attachNode(row, signal) : await this.attachPython(row, signal, report);
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

  private async attachPython(row: WorkerRow, signal: AbortSignal, report: (m: string) => void): Promise<Session> {
    let discovery = row.discovery ?? await readDiscoveryFile(row.pid);
    if (!discovery) {
      if (!vscode.workspace.getConfiguration('workerLens').get<boolean>('agent.allowInjection', true)) {
        throw new InjectError('injection-off', `pid ${row.pid} runs without the Worker Lens agent and injection is turned off`, 'start the worker with --workerlens, or turn on workerLens.agent.allowInjection');
      }
      report('injecting the agent with gdb…');
      const python = vscode.workspace.getConfiguration('workerLens').get<string>('python.path') || undefined;
      discovery = await injectAgent({
        pid: row.pid, python, signal, agentDir: vscode.Uri.joinPath(this.extensionUri, 'agent').fsPath,
        onProgress: m => { report(m); this.log.info(`inject ${row.pid}: ${m}`); },
      });
    }
    report('connecting…');
    const d = discovery;
    const client = await CdpClient.connect({
      worker: workerLabel(d),
      // After a drop, the agent may have restarted on another port: re-read the discovery file.
      locate: async () => {
        const now = await readDiscoveryFile(d.pid);
        if (!now) throw new Error(`pid ${d.pid} has no running agent any more`);
        return endpointFromDiscovery(now);
      },
      log: m => this.log.trace(`[cdp ${d.pid}] ${m}`),
    }, signal);
    let info: ProcessInfo | null = null;
    try { info = await client.python.getProcessInfo({ signal }); } catch (e) { this.log.warn(`getProcessInfo on ${workerLabel(d)}: ${(e as Error).message}`); }
    const label = `${info?.processName === 'MainProcess' || d.role === 'main' ? 'main' : d.processName} (pid ${d.pid})`;
    return {
      kind: 'python', row, client, info, discovery: d, label, pid: d.pid,
      endpointUrl: () => endpointFromDiscovery(d).webSocketUrl,
      getObjectCounts: (s: AbortSignal) => client.python.getObjectCounts({}, { signal: s }),
      snapshot: (s, onProgress, onChunk) => captureHeapSnapshot(client, { signal: s, onProgress, onChunk }),
    };
  }

  private async attachNode(row: WorkerRow, signal: AbortSignal): Promise<Session> {
    const spec = `127.0.0.1:${row.inspectorPort ?? 9229}`;
    const client = await CdpClient.connect({
      worker: `node pid ${row.pid}`,
      locate: s => resolveConnectTarget(spec, s),
      log: m => this.log.trace(`[cdp ${row.pid}] ${m}`),
    }, signal);
    const snapshot = (s: AbortSignal, onProgress?: (d: number, t: number) => void, onChunk?: (c: string) => void) =>
      captureHeapSnapshot(client, { signal: s, onProgress, onChunk });
    return {
      kind: 'node', row, client, info: null, discovery: null, label: `node ${row.roleLabel} (pid ${row.pid})`, pid: row.pid,
      endpointUrl: () => client.endpoint?.webSocketUrl ?? spec,
      // V8 has no cheap per-type count: each refresh is a heap snapshot summarised by class.
      getObjectCounts: async (s: AbortSignal): Promise<GetObjectCountsResult> => {
        const t0 = Date.now();
        const snap = await snapshot(s);
        const counts: ObjectCount[] = [...countsByClass(snap)].map(([type, count]) => ({ type, module: '', count, size: 0 }));
        const sizes = new Map<string, number>();
        for (let i = 0; i < snap.nodeCount; i++) { const c = snap.classNames[snap.nodeClass[i]]; sizes.set(c, (sizes.get(c) ?? 0) + snap.nodeSelfSize[i]); }
        for (const c of counts) c.size = sizes.get(c.type) ?? 0;
        return { counts, totalObjects: snap.nodeCount, totalSize: [...sizes.values()].reduce((a, b) => a + b, 0), pauseMs: Date.now() - t0, timestamp: Date.now() / 1000 };
      },
      snapshot,
    };
  }

  detach(pid: number): void {
    const s = this.sessions.get(pid);
    if (!s) return;
    this.sessions.delete(pid);
    s.client.dispose();
    this.log.info(`detached from ${s.label}`);
    this.onDetachedEmitter.fire({ session: s, reason: null });
  }

  /** The worker is gone (exited, or the connection could not be re-established). */
  drop(session: Session, reason: string): void {
    if (this.sessions.get(session.pid) !== session) return;
    this.sessions.delete(session.pid);
    session.client.dispose();
    this.log.warn(`${session.label} is gone: ${reason}`);
    this.onDetachedEmitter.fire({ session, reason });
  }

  private async showAttachError(row: WorkerRow, e: unknown): Promise<void> {
    if (e instanceof InjectError && e.code === 'cancelled') return;
    if ((e as Error)?.name === 'AbortError' || /cancelled/.test((e as Error)?.message ?? '')) return;
    const msg = e instanceof InjectError ? `${e.message}.${e.hint ? ' ' + e.hint.replace(/^./, c => c.toUpperCase()) + '.' : ''}` : (e as Error).message;
    this.log.error(`attach to ${describeRow(row)} failed: ${msg}`);
    const docs = 'How to allow it';
    const wantsDocs = e instanceof InjectError && ['ptrace-denied', 'no-gdb', 'injection-off'].includes(e.code);
    const choice = await vscode.window.showErrorMessage(`Cannot attach to ${describeRow(row)}: ${msg}`, ...(wantsDocs ? [docs] : []));
    if (choice === docs) await openDocs(this.extensionUri, 'ptrace');
  }

  dispose(): void {
    for (const s of this.sessions.values()) s.client.dispose();
    this.sessions.clear();
    this.onAttachedEmitter.dispose();
    this.onDetachedEmitter.dispose();
  }
}

export function describeRow(row: WorkerRow): string {
  if (row.kind === 'node') return `node ${row.roleLabel} (pid ${row.pid})`;
  return `${row.role === 'main' ? 'Celery main process' : row.roleLabel} (pid ${row.pid})`;
}
