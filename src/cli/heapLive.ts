// `workerlens heap --pid/--connect`: reach the worker, take N samples, build the leak report.
// Python workers (the agent): counts from Python.getObjectCounts, paths from one snapshot at the
// end. V8 (Node --inspect): every sample is a snapshot; paths for objects new since the first.
import { CdpError } from '../cdp/errors';
import { workerLabel } from '../cdp/discovery';
import { InjectError } from '../cdp/inject';
import { AttachError, connectWorker, WorkerConnection } from '../cdp/workerConnection';
import type { HeapSnapshot } from '../model/heapSnapshot';
import { buildLeakReport, HeapAnalysis, LeakReport } from '../model/leakReport';
import { CountSample, isBuiltinType } from '../model/growth';
import { CliError } from './command';
import type { HeapArgs } from './heapArgs';

export interface LiveResult { report: LeakReport; source: string; notes: string[] }

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

/** Modules whose types belong to the interpreter and its C helpers, not to the program (ranked after program types). */
const INTERPRETER_MODULES = new Set(['builtins', 'weakref', '_weakref', '_weakrefset', 'abc', '_abc', 'types', 'collections', '_collections', '_io', 'io', 're', '_sre', 'functools', '_functools', 'typing']);

function sleep(ms: number): Promise<void> { return new Promise(r => setTimeout(r, ms)); }

export async function runLive(args: HeapArgs, progress: (m: string) => void): Promise<LiveResult> {
  const conn = await connect(args, progress);
  const notes: string[] = [];
  try {
    const python = conn.kind === 'python';
    const source = conn.info ? workerLabel(conn.info) : conn.client.endpoint?.label ?? conn.label;
    const samples: CountSample[] = [];
    const builtinTypes = new Set<string>();   // Python types defined in C by the interpreter (module "builtins")
    let first: HeapSnapshot | undefined;
    let last: HeapSnapshot | undefined;
    for (let i = 0; i < args.samples; i++) {
      if (i > 0) await sleep(args.intervalSeconds * 1000);
      progress(`sample ${i + 1}/${args.samples}…`);
      const { result, snapshot } = await conn.heapCounts({ timeoutMs: 30_000 });
      const counts = new Map<string, number>();
      for (const c of result.counts) {
        counts.set(c.type, (counts.get(c.type) ?? 0) + c.count);
        if (python && INTERPRETER_MODULES.has(c.module)) builtinTypes.add(c.type);
      }
      samples.push({ timestamp: Date.now() / 1000, counts });
      if (snapshot) {
        if (i === 0) first = snapshot;
        last = snapshot;
      }
    }
    if (python) {
      progress('heap snapshot for retainer paths…');
      try {
        last = await conn.snapshot();
      } catch (e) {
        if (!(e instanceof CdpError && e.kind === 'protocol')) throw e;
        notes.push(`no retainer paths: ${e.message}`);
      }
    }
    const analysis = last ? new HeapAnalysis(last) : undefined;
    const report = buildLeakReport({ samples, last: analysis, first: first !== last ? first : undefined, maxSuspects: args.top,
      growth: { isBuiltin: t => builtinTypes.has(t) || isBuiltinType(t) } });
    return { report, source, notes };
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
