// The pool children of a prefork main, for `workerlens heap --pid MAIN` and the Pool Memory view:
// every child that runs its own agent (discovery file with ppid = MAIN) is connected through the
// shared attach path (workerConnection.ts, never injecting); children without one are named in a
// note (and returned, so the UI can offer to attach them).
import { listDiscoveryFiles, workerLabel } from './discovery';
import { connectWorker } from './workerConnection';
import { scanProcesses } from './procScan';
import type { ProcessTarget } from './processSampler';

export async function poolChildren(mainPid: number, notes: string[], bareOut?: number[]): Promise<ProcessTarget[]> {
  const files = (await listDiscoveryFiles()).filter(d => d.ppid === mainPid && d.pid !== mainPid).sort((a, b) => a.pid - b.pid);
  const out: ProcessTarget[] = [];
  for (const d of files) {
    try {
      const conn = await connectWorker({ pid: d.pid, kind: 'python', discovery: d }, { reconnect: false, injection: { allowed: false, refusedHint: '' }, activation: { allowed: false } });
      out.push({ conn, label: workerLabel(d) });
    } catch (e) {
      notes.push(`pool child ${workerLabel(d)}: cannot connect to its agent (${(e as Error).message})`);
    }
  }
  let procs: { pid: number; ppid: number }[] = [];
  try { procs = await scanProcesses(); } catch { /* no /proc: the discovery files are all we know */ }
  const withAgent = new Set(files.map(d => d.pid));
  const bare = procs.filter(p => p.ppid === mainPid && !withAgent.has(p.pid)).map(p => p.pid);
  bareOut?.push(...bare);
  if (bare.length) {
    notes.push(`pool child${bare.length > 1 ? 'ren' : ''} ${bare.join(', ')} run${bare.length > 1 ? '' : 's'} no agent: start the worker with --workerlens (every child gets one), or run workerlens heap --pid CHILD`);
  }
  return out;
}
