// Attach from the Fleet view: a session on a worker of another host. The token comes from a fleet
// reply asked with --attach (kept in memory for the connection only: never in settings or logs);
// the tunnel is workerLens.fleet.tunnelCommand; src/cdp/remoteWorker.ts (the CLI's way too) opens
// it and connects. Detach, a drop or closing the window stops the tunnel's process group.
import * as vscode from 'vscode';
import { connectRemote, pickRemoteProcess, RemoteAttachError, TUNNEL_EXAMPLE, type RemoteConnection } from '../cdp/remoteWorker';
import type { FleetState } from '../model/fleet';
import type { Session, SessionManager } from './sessions';

/** A remote process as the Fleet view names it. */
export interface RemoteTargetRef { node: string; pid: number | null; host: string }

/** ws://host:port/TOKEN → ws://host:port/… in anything written to the log. */
const redact = (text: string) => text.replace(/(wss?:\/\/[^/\s]+\/)[^\s)'"]+/g, '$1…');

export class RemoteSessions {
  /** Remote sessions' keys (Session.pid) are negative: they can never be a pid of this machine. */
  private nextKey = -1;
  private readonly byTarget = new Map<string, Session>();

  constructor(
    private readonly sessions: SessionManager,
    /** A fleet refresh that asks the workers for their agents' tokens. */
    private readonly fleetWithTokens: (signal: AbortSignal) => Promise<FleetState>,
    private readonly log: vscode.LogOutputChannel,
    private readonly show: (s: Session) => void,
  ) {
    sessions.onDidDetach(({ session }) => { if (session.remote) this.byTarget.delete(keyOf(session.remote.node, session.remote.pid)); });
  }

  /** The session attached to that remote process, if any. */
  find(node: string, pid: number): Session | undefined { return this.byTarget.get(keyOf(node, pid)); }

  async attachWithUi(ref: RemoteTargetRef): Promise<Session | undefined> {
    const existing = ref.pid !== null ? this.find(ref.node, ref.pid) : undefined;
    if (existing) { this.show(existing); return existing; }
    const template = (vscode.workspace.getConfiguration('workerLens.fleet').get<string>('tunnelCommand') ?? '').trim();
    const what = `${ref.node}${ref.pid !== null ? ` pid ${ref.pid}` : ''} on ${ref.host}`;
    if (!template) {
      const open = 'Open Settings';
      const choice = await vscode.window.showErrorMessage(`Cannot attach to ${what}: set workerLens.fleet.tunnelCommand to a command that forwards a local port to the worker host's loopback; example: ${TUNNEL_EXAMPLE}`, open);
      if (choice === open) await vscode.commands.executeCommand('workbench.action.openSettings', 'workerLens.fleet.tunnelCommand');
      return undefined;
    }
    try {
      const session = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, cancellable: true, title: `Worker Lens: attaching to ${what}` }, (progress, token) => {
        const ac = new AbortController();
        token.onCancellationRequested(() => ac.abort());
        return this.attach(ref, template, ac.signal, m => progress.report({ message: m }));
      });
      this.show(session);
      return session;
    } catch (e) {
      if (isCancelled(e)) return undefined;
      const msg = (e as Error).message;
      this.log.error(`attach to ${what} failed: ${redact(msg)}${e instanceof RemoteAttachError && e.stderr ? `\ntunnel stderr:\n${e.stderr}` : ''}`);
      void vscode.window.showErrorMessage(`Cannot attach to ${what}: ${redact(msg)}`);
      return undefined;
    }
  }

  private async attach(ref: RemoteTargetRef, template: string, signal: AbortSignal, report: (m: string) => void): Promise<Session> {
    report('asking the worker for its agent token through the broker…');
    const state = await this.fleetWithTokens(signal);
    const target = pickRemoteProcess(state.workers, ref.pid !== null ? `${ref.node}:${ref.pid}` : ref.node);
    const already = this.find(target.node, target.pid);
    if (already) return already;
    const remote: RemoteConnection = await connectRemote(template, target, {
      signal,
      progress: m => { report(m); this.log.info(`attach ${target.node} pid ${target.pid}: ${m}`); },
      log: m => this.log.trace(`[cdp ${target.node}:${target.pid}] ${redact(m)}`),
    });
    const conn = remote.conn;
    const name = conn.info?.processName === 'MainProcess' || target.role === 'main' ? 'main' : target.processName ?? 'child';
    const session: Session = {
      kind: conn.kind, row: null, client: conn.client, info: conn.info, discovery: null, pid: this.nextKey--,
      remote: { node: target.node, host: target.host, pid: target.pid, processName: target.processName, via: remote.tunnel.argv.join(' ') },
      label: `${name} (pid ${target.pid}) on ${target.host}`,
      countMethod: 'a gc.get_objects() walk',
      endpointUrl: () => conn.endpointUrl(),
      getObjectCounts: async (s: AbortSignal) => (await conn.heapCounts({ signal: s })).result,
      streamSnapshot: (s, onChunk, onProgress) => conn.streamSnapshot({ signal: s, onChunk, onProgress }),
      role: conn.info?.role ?? target.role,
      getMemoryBreakdown: (s: AbortSignal, untracked: boolean) => conn.memoryBreakdown({ signal: s, untracked }),
      trimMemory: conn.kind === 'python' ? () => conn.client.python.trimMemory({ timeoutMs: 60_000 }) : undefined,
    };
    this.byTarget.set(keyOf(target.node, target.pid), session);
    // The tunnel ending is the session ending: say why, with the command's stderr.
    remote.tunnel.onExit((code, stderr) => this.sessions.drop(session, `the tunnel command exited (${code ?? 'signal'})${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`));
    this.sessions.adopt(session, () => remote.dispose());
    this.log.info(`${session.label}: through \`${session.remote?.via}\` (local port ${remote.tunnel.localPort})`);
    return session;
  }
}

function keyOf(node: string, pid: number): string { return `${node}\n${pid}`; }

function isCancelled(e: unknown): boolean {
  const m = (e as Error)?.message ?? '';
  return (e as Error)?.name === 'AbortError' || /^cancelled$|was cancelled/.test(m) || (e as { code?: string }).code === 'cancelled';
}
