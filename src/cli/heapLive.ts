// `workerlens heap --pid/--connect`: reach the worker, take N samples, build the leak report.
// Python workers (the agent): counts from Python.getObjectCounts, paths from one snapshot at the
// end. V8 (Node --inspect): every sample is a snapshot; paths for objects new since the first.
import fs from 'node:fs';
import { CdpClient } from '../cdp/client';
import { CdpError } from '../cdp/errors';
import { captureHeapSnapshot } from '../cdp/heapCapture';
import { endpointFromDiscovery, readDiscoveryFile, workerLabel } from '../cdp/discovery';
import { resolveConnectTarget } from '../cdp/endpoint';
import { injectAgent, InjectError } from '../cdp/inject';
import type { CdpEndpoint } from '../cdp/transport';
import type { HeapSnapshot } from '../model/heapSnapshot';
import { buildLeakReport, HeapAnalysis, LeakReport } from '../model/leakReport';
import { CountSample, isBuiltinType } from '../model/growth';
import { countsByClass } from '../model/summary';
import { CliError } from './command';
import type { HeapArgs } from './heapArgs';

export interface LiveResult { report: LeakReport; source: string; notes: string[] }

/** Finds (or injects) the agent of a pid; errors say what the pid is and what to do. */
async function endpointForPid(pid: number, inject: boolean, progress: (m: string) => void): Promise<CdpEndpoint> {
  let cmdline = '';
  try { cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim(); } catch {
    throw new CliError(`no process with pid ${pid}`);
  }
  const existing = await readDiscoveryFile(pid);
  if (existing) return endpointFromDiscovery(existing);
  let exe = '';
  try { exe = fs.readlinkSync(`/proc/${pid}/exe`); } catch { /* another user's process */ }
  const isPython = /(^|\/)python[0-9.]*$/.test(exe) || /(^|\/)python[0-9.]*(\s|$)/.test(cmdline) || /^\[celeryd/.test(cmdline);
  if (!isPython) {
    if (/(^|\/)node$/.test(exe) || /^node\b/.test(cmdline)) {
      // A Node process started with --inspect[=[host:]port]: talk to its inspector directly.
      const inspect = /--inspect(?:-brk)?(?:=(?:[^:\s]*:)?(\d+))?(?:\s|$)/.exec(cmdline);
      const port = inspect ? Number(inspect[1] ?? 9229) : 0;
      if (port > 0) {
        try { return await resolveConnectTarget(`127.0.0.1:${port}`); } catch (e) { throw new CliError(`pid ${pid} is a Node process with --inspect, but ${(e as Error).message}`); }
      }
      throw new CliError(`pid ${pid} is a Node process without a known inspector port: start it with --inspect=127.0.0.1:PORT and use --connect 127.0.0.1:PORT`);
    }
    throw new CliError(`pid ${pid} (${cmdline.slice(0, 60) || 'unknown'}) is not a Python worker`);
  }
  if (!inject) throw new CliError(`pid ${pid} runs no Worker Lens agent: start it with the agent (celery ... --workerlens, or WORKERLENS=1) or drop --no-inject to inject it`);
  progress(`injecting the Worker Lens agent into pid ${pid} (gdb)…`);
  try {
    return endpointFromDiscovery(await injectAgent({ pid, onProgress: progress }));
  } catch (e) {
    if (e instanceof InjectError) throw new CliError(`cannot inject the agent into pid ${pid}: ${e.message}${e.hint ? ` (${e.hint})` : ''}`);
    throw e;
  }
}

/** Modules whose types belong to the interpreter and its C helpers, not to the program (ranked after program types). */
const INTERPRETER_MODULES = new Set(['builtins', 'weakref', '_weakref', '_weakrefset', 'abc', '_abc', 'types', 'collections', '_collections', '_io', 'io', 're', '_sre', 'functools', '_functools', 'typing']);

function sleep(ms: number): Promise<void> { return new Promise(r => setTimeout(r, ms)); }

export async function runLive(args: HeapArgs, progress: (m: string) => void): Promise<LiveResult> {
  let endpoint: CdpEndpoint;
  if (args.pid !== null) endpoint = await endpointForPid(args.pid, args.inject, progress);
  else {
    try { endpoint = await resolveConnectTarget(args.connect as string); } catch (e) { throw new CliError((e as Error).message); }
  }
  const pid = args.pid;
  let client: CdpClient;
  try {
    client = await CdpClient.connect({
      worker: endpoint.label, reconnectDelaysMs: false,
      // a pid's agent may have been restarted since: re-read its discovery file
      locate: async () => (pid !== null ? await readDiscoveryFile(pid).then(d => (d ? endpointFromDiscovery(d) : endpoint)) : endpoint),
    });
  } catch (e) {
    throw new CliError(e instanceof Error ? e.message : String(e));
  }
  const notes: string[] = [];
  try {
    let source = endpoint.label;
    let python = true;
    try {
      const info = await client.python.getProcessInfo({ timeoutMs: 5000 });
      source = workerLabel(info);
    } catch (e) {
      if (!(e instanceof CdpError && e.kind === 'protocol')) throw e;
      python = false; // V8: no Python domain
    }
    const samples: CountSample[] = [];
    const builtinTypes = new Set<string>();   // Python types defined in C by the interpreter (module "builtins")
    let first: HeapSnapshot | undefined;
    let last: HeapSnapshot | undefined;
    for (let i = 0; i < args.samples; i++) {
      if (i > 0) await sleep(args.intervalSeconds * 1000);
      progress(`sample ${i + 1}/${args.samples}…`);
      if (python) {
        const r = await client.python.getObjectCounts({}, { timeoutMs: 30_000 });
        const counts = new Map<string, number>();
        for (const c of r.counts) {
          counts.set(c.type, (counts.get(c.type) ?? 0) + c.count);
          if (INTERPRETER_MODULES.has(c.module)) builtinTypes.add(c.type);
        }
        samples.push({ timestamp: Date.now() / 1000, counts });
      } else {
        const s = await captureHeapSnapshot(client);
        samples.push({ timestamp: Date.now() / 1000, counts: countsByClass(s) });
        if (i === 0) first = s;
        last = s;
      }
    }
    if (python) {
      progress('heap snapshot for retainer paths…');
      try {
        last = await captureHeapSnapshot(client);
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
    client.dispose();
  }
}
