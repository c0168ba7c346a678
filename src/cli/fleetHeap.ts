// `workerlens fleet --heap NODE[:PID] --tunnel TEMPLATE`: the token through the broker (--attach),
// a tunnel to that worker's loopback agent (src/cdp/tunnel.ts), then the usual live heap report over
// src/cdp/workerConnection.ts (`heap --connect ws://127.0.0.1:LOCAL/TOKEN`); the tunnel is closed after.
import { runFleet } from '../cdp/fleetHelper';
import { Tunnel, TunnelError } from '../cdp/tunnel';
import type { FleetProcess } from '../protocol/fleet';
import type { FleetWorker } from '../model/fleet';
import { CliError } from './command';
import { parseHeapArgs } from './heapArgs';
import { runLive, type LiveResult } from './heapLive';

export interface RemoteHeapOptions { broker: string; python: string; timeoutS: number; target: string; tunnel: string; samples: number; intervalSeconds: number; top: number }

/** NODE picks its most grown child (else its main); NODE:PID one process. */
export function pickProcess(workers: FleetWorker[], target: string): { worker: FleetWorker; proc: FleetProcess } {
  const m = /^(.*?)(?::(\d+))?$/.exec(target) as RegExpExecArray;
  const node = m[1], pid = m[2] ? Number(m[2]) : null;
  const matches = workers.filter(w => w.node === node);
  if (!matches.length) throw new CliError(`no worker named ${node} answered on this broker (seen: ${workers.map(w => w.node).join(', ') || 'none'})`);
  const ok = matches.filter(w => w.reply);
  if (!ok.length) throw new CliError(`${node} did not give a readable fleet reply: ${matches[0].reason}`);
  if (ok.length > 1) throw new CliError(`${ok.length} workers answer as ${node} (duplicate node name): rename one, then attach`);
  const w = ok[0];
  const procs = (w.reply?.processes ?? []).filter(p => p.agentPort && p.token);
  const grown = (p: FleetProcess) => (p.rssBytes ?? 0) - (p.rssFirstBytes ?? 0);
  // In prefork the tasks run in the children, and idle-first dispatch can starve one: the child that
  // ran the most tasks comes first, then the one that grew most.
  const runs = (p: FleetProcess) => (p.tasks ?? []).reduce((n, t) => n + (t.runs ?? 0), 0);
  const proc = pid !== null ? procs.find(p => p.pid === pid)
    : [...procs].sort((a, b) => (a.role === b.role ? runs(b) - runs(a) || grown(b) - grown(a) : a.role === 'child' ? -1 : 1))[0];
  if (!proc) throw new CliError(pid !== null ? `${node} has no process ${pid} with an agent (has: ${(w.reply?.processes ?? []).map(p => p.pid).join(', ')})` : `${node} has no process with an agent`);
  return { worker: w, proc };
}

export async function remoteHeap(o: RemoteHeapOptions, progress: (m: string) => void): Promise<LiveResult & { via: string }> {
  const state = await runFleet({ broker: o.broker, python: o.python, timeoutS: o.timeoutS, attach: true });
  const { worker, proc } = pickProcess(state.workers, o.target);
  progress(`opening the tunnel to ${worker.host} port ${proc.agentPort}…`);
  let tunnel: Tunnel;
  try {
    tunnel = await Tunnel.open(o.tunnel, { host: worker.host, port: proc.agentPort as number, node: worker.node, pid: proc.pid });
  } catch (e) {
    if (e instanceof TunnelError) throw new CliError(e.message);
    throw e;
  }
  try {
    const args = parseHeapArgs(['--connect', `ws://127.0.0.1:${tunnel.localPort}/${proc.token as string}`, '--samples', String(o.samples), '--interval', String(o.intervalSeconds), '--top', String(o.top), '--no-inject']);
    const live = await runLive(args, progress);
    return { ...live, via: `${worker.node} pid ${proc.pid} on ${worker.host}, through \`${tunnel.argv.join(' ')}\`` };
  } catch (e) {
    if (tunnel.exited) throw new CliError(`the tunnel command exited: ${tunnel.stderr.trim().split('\n').slice(-3).join(' | ') || 'no stderr'}`);
    throw e;
  } finally {
    tunnel.close();
  }
}
