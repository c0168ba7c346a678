// Reaching a worker on another host, for the Fleet view's Attach and `workerlens fleet --heap`
// alike: the fleet reply (asked with --attach) names the process, its agent's loopback port and
// token; a Tunnel (src/cdp/tunnel.ts) forwards a local port there; src/cdp/workerConnection.ts
// connects through it as for any `--connect ws://…`. The token is used in the URL only, never logged.
import type { FleetProcess } from '../protocol/fleet';
import type { FleetWorker } from '../model/fleet';
import { Tunnel, TunnelError } from './tunnel';
import { connectWorker, type NodeCounter, type WorkerConnection } from './workerConnection';

/** What the UI's error says when the tunnel setting is empty. */
export const TUNNEL_EXAMPLE = 'ssh -N -L {localPort}:127.0.0.1:{port} {host}';

export type RemoteAttachErrorCode = 'no-worker' | 'no-agent' | 'duplicate' | 'tunnel' | 'refused' | 'wrong-process';

export class RemoteAttachError extends Error {
  override name = 'RemoteAttachError';
  constructor(readonly code: RemoteAttachErrorCode, message: string, /** The tunnel command's stderr, for code 'tunnel'. */ readonly stderr = '') { super(message); }
}

/** One remote process with what it takes to reach it. */
export interface RemoteProcess {
  node: string;
  host: string;
  pid: number;
  role: 'main' | 'child' | null;
  processName: string | null;
  agentPort: number;
  token: string;
}

/** NODE picks its child that ran the most tasks (else grew most, else its main); NODE:PID one process. */
export function pickRemoteProcess(workers: FleetWorker[], target: string): RemoteProcess {
  const m = /^(.*?)(?::(\d+))?$/.exec(target) as RegExpExecArray;
  const node = m[1], pid = m[2] ? Number(m[2]) : null;
  const matches = workers.filter(w => w.node === node);
  if (!matches.length) throw new RemoteAttachError('no-worker', `no worker named ${node} answered on this broker (seen: ${workers.map(w => w.node).join(', ') || 'none'})`);
  const ok = matches.filter(w => w.reply);
  if (!ok.length) throw new RemoteAttachError('no-worker', `${node} did not give a readable fleet reply: ${matches[0].reason}`);
  if (ok.length > 1) throw new RemoteAttachError('duplicate', `${ok.length} workers answer as ${node} (duplicate node name): rename one, then attach`);
  const w = ok[0];
  const procs = (w.reply?.processes ?? []).filter(p => p.agentPort && p.token);
  const grown = (p: FleetProcess) => (p.rssBytes ?? 0) - (p.rssFirstBytes ?? 0);
  // In prefork the tasks run in the children, and idle-first dispatch can starve one: the child that
  // ran the most tasks comes first, then the one that grew most.
  const runs = (p: FleetProcess) => (p.tasks ?? []).reduce((n, t) => n + (t.runs ?? 0), 0);
  const proc = pid !== null ? procs.find(p => p.pid === pid)
    : [...procs].sort((a, b) => (a.role === b.role ? runs(b) - runs(a) || grown(b) - grown(a) : a.role === 'child' ? -1 : 1))[0];
  if (!proc) {
    throw new RemoteAttachError('no-agent', pid !== null
      ? `${node} has no process ${pid} with an agent (has: ${(w.reply?.processes ?? []).map(p => p.pid).join(', ')})`
      : `${node} has no process with an agent`);
  }
  return { node: w.node, host: w.host, pid: proc.pid, role: proc.role ?? null, processName: proc.processName ?? null, agentPort: proc.agentPort as number, token: proc.token as string };
}

/** Starts the tunnel to the process's agent port; a command that fails is a RemoteAttachError with its stderr. */
export async function openRemoteTunnel(template: string, p: RemoteProcess, signal?: AbortSignal): Promise<Tunnel> {
  try {
    return await Tunnel.open(template, { host: p.host, port: p.agentPort, node: p.node, pid: p.pid }, { signal });
  } catch (e) {
    if (e instanceof TunnelError) throw new RemoteAttachError('tunnel', e.message, e.stderr);
    throw e;
  }
}

/** The agent's URL through the tunnel (carries the token: for connecting, never for logs). */
export function tunnelledUrl(tunnel: Tunnel, p: RemoteProcess): string {
  return `ws://127.0.0.1:${tunnel.localPort}/${p.token}`;
}

const lastLines = (s: string) => s.trim().split('\n').slice(-3).join(' | ');

/** Why a connection through a tunnel failed, in the user's words: the tunnel died, or the agent refused. */
export function explainRemoteFailure(e: unknown, tunnel: Tunnel, p: RemoteProcess): Error {
  if (tunnel.exited) return new RemoteAttachError('tunnel', `the tunnel command exited: ${lastLines(tunnel.stderr) || 'no stderr'}`, tunnel.stderr);
  const msg = (e as Error)?.message ?? String(e);
  const status = /Unexpected server response: (\d+)/.exec(msg)?.[1];
  if (status) {
    return new RemoteAttachError('refused', `the agent of ${p.node} pid ${p.pid} refused the connection (HTTP ${status})${status === '403' ? ': its token no longer matches (the process restarted?); refresh the Fleet view and attach again' : ''}`);
  }
  return e instanceof Error ? e : new Error(msg);
}

/** A connection to a remote process and the tunnel it runs through; dispose() ends both. */
export class RemoteConnection {
  constructor(readonly conn: WorkerConnection, readonly tunnel: Tunnel, readonly target: RemoteProcess) {}

  /** Where it runs: "leaky@host pid 42 on host, through `socat …`". */
  describe(): string {
    return `${this.target.node} pid ${this.target.pid} on ${this.target.host}, through \`${this.tunnel.argv.join(' ')}\``;
  }

  dispose(): void {
    this.conn.dispose();
    this.tunnel.close();
  }
}

export interface ConnectRemoteOptions {
  signal?: AbortSignal;
  progress?: (message: string) => void;
  log?: (message: string) => void;
  nodeCounts?: NodeCounter;
}

/** Tunnel + CDP connection to a remote process. Nothing is left running when it rejects. */
export async function connectRemote(template: string, p: RemoteProcess, opts: ConnectRemoteOptions = {}): Promise<RemoteConnection> {
  opts.progress?.(`opening the tunnel to ${p.host} port ${p.agentPort}…`);
  const tunnel = await openRemoteTunnel(template, p, opts.signal);
  try {
    opts.progress?.('connecting through the tunnel…');
    const conn = await connectWorker({ connect: tunnelledUrl(tunnel, p) }, {
      signal: opts.signal, log: opts.log, nodeCounts: opts.nodeCounts,
      // Nothing runs on this machine to inject into or to signal: the remote agent must be running.
      injection: { allowed: false, refusedHint: '' }, activation: { allowed: false },
    });
    if (conn.kind === 'python' && conn.info && conn.info.pid !== p.pid) {
      conn.dispose();
      throw new RemoteAttachError('wrong-process', `the tunnel reached pid ${conn.info.pid}, not ${p.node} pid ${p.pid}: check that workerLens.fleet.tunnelCommand forwards to {host} port {port}`);
    }
    return new RemoteConnection(conn, tunnel, p);
  } catch (e) {
    const err = e instanceof RemoteAttachError ? e : explainRemoteFailure(e, tunnel, p);
    tunnel.close();
    throw err;
  }
}
