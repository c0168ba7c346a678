// `workerlens fleet --heap NODE[:PID] --tunnel TEMPLATE`: the token through the broker (--attach),
// the tunnel to that worker's loopback agent and the failure wording from src/cdp/remoteWorker.ts
// (the Fleet view's Attach uses the same), then the usual live heap report over
// src/cdp/workerConnection.ts (`heap --connect ws://127.0.0.1:LOCAL/TOKEN`); the tunnel is closed after.
import { runFleet } from '../cdp/fleetHelper';
import { explainRemoteFailure, openRemoteTunnel, pickRemoteProcess, RemoteAttachError, tunnelledUrl } from '../cdp/remoteWorker';
import { CliError } from './command';
import { parseHeapArgs } from './heapArgs';
import { runLive, type LiveResult } from './heapLive';

export interface RemoteHeapOptions { broker: string; python: string; timeoutS: number; target: string; tunnel: string; samples: number; intervalSeconds: number; top: number }

export async function remoteHeap(o: RemoteHeapOptions, progress: (m: string) => void): Promise<LiveResult & { via: string }> {
  const state = await runFleet({ broker: o.broker, python: o.python, timeoutS: o.timeoutS, attach: true });
  try {
    const proc = pickRemoteProcess(state.workers, o.target);
    progress(`opening the tunnel to ${proc.host} port ${proc.agentPort}…`);
    const tunnel = await openRemoteTunnel(o.tunnel, proc);
    try {
      const args = parseHeapArgs(['--connect', tunnelledUrl(tunnel, proc), '--samples', String(o.samples), '--interval', String(o.intervalSeconds), '--top', String(o.top), '--no-inject']);
      const live = await runLive(args, progress).catch(e => { throw explainRemoteFailure(e, tunnel, proc); });
      return { ...live, via: `${proc.node} pid ${proc.pid} on ${proc.host}, through \`${tunnel.argv.join(' ')}\`` };
    } finally {
      tunnel.close();
    }
  } catch (e) {
    if (e instanceof RemoteAttachError) throw new CliError(e.message);
    throw e;
  }
}
