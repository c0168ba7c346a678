// `workerlens heap --pid/--connect`: reach the worker, take N samples, build the leak report.
// Python workers (the agent): counts from Python.getObjectCounts, paths from one snapshot at the
// end. V8 (Node --inspect): every sample is a snapshot; paths for objects new since the first.
import { CdpError } from '../cdp/errors';
import { workerLabel } from '../cdp/discovery';
import { InjectError } from '../cdp/inject';
import { AttachError, connectWorker, WorkerConnection } from '../cdp/workerConnection';
import type { LeakReport } from '../model/leakReport';
import { poolChildren } from '../cdp/poolChildren';
import type { ProcessResult, ProcessTarget } from '../cdp/processSampler';
import { samplePool } from '../cdp/poolSampler';
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

export async function runLive(args: HeapArgs, progress: (m: string) => void): Promise<LiveResult> {
  const conn = await connect(args, progress);
  const notes: string[] = [];
  try {
    const python = conn.kind === 'python';
    const source = conn.info ? workerLabel(conn.info) : conn.client.endpoint?.label ?? conn.label;
    const targets: ProcessTarget[] = [{ conn, label: source }];
    // a prefork main runs no task: its pool children (each with its own agent) are sampled with it
    if (python && args.pid !== null && conn.info?.role === 'main') targets.push(...await poolChildren(args.pid, notes));
    try {
      const r = await samplePool(targets, { samples: args.samples, intervalMs: args.intervalSeconds * 1000, top: args.top, trim: args.trim, paths: true, progress });
      notes.push(...r.notes, ...r.processes[0].notes);
      return { report: r.processes[0].report, source, notes, processes: r.processes, summary: r.summary };
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
