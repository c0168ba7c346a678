// `workerlens heap --pid/--connect`: reach the worker, take N samples, build the leak report.
// Python workers (the agent): counts from Python.getObjectCounts, paths from one snapshot at the
// end. V8 (Node --inspect): every sample is a snapshot; paths for objects new since the first.
import { CdpError } from '../cdp/errors';
import { workerLabel } from '../cdp/discovery';
import { InjectError } from '../cdp/inject';
import { AttachError, connectWorker, WorkerConnection } from '../cdp/workerConnection';
import type { LeakReport } from '../model/leakReport';
import { preforkSummary } from '../model/memoryVerdict';
import { poolChildren } from './heapPool';
import { ProcessResult, ProcessSampler, ProcessTarget } from './heapProcesses';
import { CliError } from './command';
import type { HeapArgs } from './heapArgs';

export interface LiveResult { report: LeakReport; source: string; notes: string[]; processes: ProcessResult[]; summary: string | null }

/** Reaches the worker the way the extension does (src/cdp/workerConnection.ts); errors become one CLI line. */
async function connect(args: HeapArgs, progress: (m: string) => void): Promise<WorkerConnection> {
  try {
    return await connectWorker(args.pid !== null ? { pid: args.pid } : { connect: args.connect as string }, {
      progress, reconnect: false,
      injection: { allowed: args.inject, refusedHint: 'start it with the agent (celery ... --workerlens, or WORKERLENS=1) or drop --no-inject to inject it' },
      activation: { allowed: args.inject, refusedHint: 'drop --no-inject to open it with SIGUSR1' },
    });
  } catch (e) {
    if (e instanceof InjectError) {
      if (e.code === 'injection-off') throw new CliError(`${e.message}: ${e.hint}`);
      throw new CliError(`cannot inject the agent into pid ${args.pid}: ${e.message}${e.hint ? ` (${e.hint})` : ''}`);
    }
    if (e instanceof AttachError || e instanceof CdpError) throw new CliError(e.message);
    throw e;
  }
}

function sleep(ms: number): Promise<void> { return new Promise(r => setTimeout(r, ms)); }

export async function runLive(args: HeapArgs, progress: (m: string) => void): Promise<LiveResult> {
  const conn = await connect(args, progress);
  const notes: string[] = [];
  try {
    const python = conn.kind === 'python';
    const source = conn.info ? workerLabel(conn.info) : conn.client.endpoint?.label ?? conn.label;
    const targets: ProcessTarget[] = [{ conn, label: source }];
    // a prefork main runs no task: its pool children (each with its own agent) are sampled with it
    if (python && args.pid !== null && conn.info?.role === 'main') targets.push(...await poolChildren(args.pid, notes));
    const samplers = targets.map(t => new ProcessSampler(t));
    try {
      for (let i = 0; i < args.samples; i++) {
        if (i > 0) await sleep(args.intervalSeconds * 1000);
        progress(`sample ${i + 1}/${args.samples}…`);
        await Promise.all(samplers.map((s, k) => s.sample(i).catch(e => {
          if (k === 0) throw e;  // the pid asked for: its failure is the answer
          notes.push(`${s.target.label} stopped answering (${(e as Error).message}): left out`);
          samplers.splice(samplers.indexOf(s), 1);
        })));
      }
      if (python) progress('heap snapshot for retainer paths…');
      const processes: ProcessResult[] = [];
      for (const s of samplers) processes.push(await s.finish({ top: args.top, trim: args.trim, paths: true }));
      notes.push(...processes[0].notes);
      const summary = preforkSummary(processes.map(p => ({ label: p.label, pid: p.pid ?? 0, role: p.role ?? 'process', verdict: p.verdict })));
      return { report: processes[0].report, source, notes, processes, summary };
    } finally {
      for (const t of targets.slice(1)) t.conn.dispose();
    }
  } catch (e) {
    if (e instanceof CdpError) {
      const gone = e.kind === 'disconnected' || e.kind === 'closed' ? ' — the worker or its agent went away' : '';
      throw new CliError(`${e.message}${gone}`);
    }
    throw e;
  } finally {
    conn.dispose();
  }
}
