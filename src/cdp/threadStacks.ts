// Thread stacks of a worker process, the one way the Threads view and `workerlens stacks` get them:
// ask the worker's agent (Python.getThreadStacks), and when it cannot answer — no agent, or the
// call times out because a C call holds the GIL — read them from outside with the worker's own
// interpreter (`python -m workerlens_agent outside-stacks PID`, which never stops the worker).
// A main process brings its pool children (discovery files and /proc ppid).
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { DiscoveryFile, GetThreadStacksResult, StacksSource } from '../protocol/agent';
import type { CdpClient } from './client';
import { listDiscoveryFiles, readDiscoveryFile } from './discovery';
import { connectWorker } from './workerConnection';
import { findAgentDir } from './inject';
import { parseStat } from './procScan';

export interface ProcessStacks {
  pid: number;
  label: string;
  /** null when neither way could read them; error says why. */
  result: GetThreadStacksResult | null;
  source: StacksSource | null;
  error: string | null;
  /** Why the agent did not answer, when the stacks came from outside (or not at all). */
  agentError: string | null;
}

export interface StacksOptions {
  /** The worker's agent client, when already connected (the UI's session). */
  client?: CdpClient;
  discovery?: DiscoveryFile | null;
  /** 'auto': agent first, outside when it cannot answer; 'agent' / 'outside': only that way. */
  via?: 'auto' | 'agent' | 'outside';
  agentTimeoutMs?: number;
  outsideTimeoutMs?: number;
  agentDir?: string;
  signal?: AbortSignal;
}

export class OutsideStacksError extends Error {
  override name = 'OutsideStacksError';
  constructor(readonly code: string, message: string) { super(message); }
}

/** Reads pid's stacks the outside way (its own interpreter binary reading /proc/PID/mem). */
export async function readOutsideStacks(pid: number, opts: { agentDir?: string; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<GetThreadStacksResult> {
  const agentDir = opts.agentDir ?? findAgentDir();
  if (!agentDir) throw new OutsideStacksError('no-agent-folder', 'cannot find the Worker Lens agent folder next to this installation');
  let exe: string;
  try { exe = await fs.readlink(`/proc/${pid}/exe`); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new OutsideStacksError('not-found', `no process with pid ${pid}`);
    throw new OutsideStacksError('ptrace-denied', `may not inspect pid ${pid} (${code ?? 'error'}): it belongs to another user`);
  }
  if (exe.endsWith(' (deleted)')) exe = `/proc/${pid}/exe`;   // upgraded under the worker: run the very binary it runs
  if (!/python[0-9.]*$/.test(path.basename(exe)) && !exe.startsWith('/proc/')) throw new OutsideStacksError('not-python', `pid ${pid} runs ${exe}, not a Python interpreter`);
  const timeoutMs = opts.timeoutMs ?? 20_000;
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' };
    delete env.WORKERLENS;
    const child = spawn(exe, ['-I', '-c', `import sys; sys.path.insert(0, ${JSON.stringify(agentDir)}); from workerlens_agent.outsidestacks import main; sys.exit(main([${JSON.stringify(String(pid))}]))`],
      { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new OutsideStacksError('timeout', `reading pid ${pid}'s stacks from outside did not finish within ${timeoutMs / 1000} s`)); }, timeoutMs);
    const onAbort = () => { child.kill('SIGKILL'); reject(new OutsideStacksError('cancelled', 'cancelled')); };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (d: Buffer) => { out += d.toString('utf8'); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString('utf8'); });
    child.on('error', e => { clearTimeout(timer); reject(new OutsideStacksError('spawn', `cannot run ${exe}: ${e.message}`)); });
    child.on('close', () => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      const last = out.trim().split('\n').pop() ?? '';
      let parsed: (GetThreadStacksResult & { error?: { code: string; message: string } }) | null = null;
      try { parsed = JSON.parse(last); } catch { /* below */ }
      if (parsed?.error) reject(new OutsideStacksError(parsed.error.code, parsed.error.message));
      else if (parsed && Array.isArray(parsed.threads)) resolve(parsed);
      else reject(new OutsideStacksError('bad-output', `the outside reader printed no stacks: ${(err.trim().split('\n').pop() ?? last).slice(0, 300) || '(nothing)'}`));
    });
  });
}

async function agentStacks(pid: number, opts: StacksOptions): Promise<GetThreadStacksResult> {
  const timeoutMs = opts.agentTimeoutMs ?? 4000;
  if (opts.client) {
    try {
      return await opts.client.python.getThreadStacks({ timeoutMs, signal: opts.signal });
    } catch (e) {
      if ((e as { kind?: string }).kind === 'timeout') throw new Error(`the agent did not answer within ${timeoutMs / 1000} s (busy in C code holding the GIL, or stopped)`);
      throw e;
    }
  }
  const d = opts.discovery ?? await readDiscoveryFile(pid);
  if (!d) throw new Error(`pid ${pid} runs no Worker Lens agent`);
  // An agent that cannot run (a C call holds the GIL) never answers the WebSocket handshake: the
  // deadline aborts it, and the connector closes the half-open socket (src/cdp/criTransport.ts).
  const deadline = AbortSignal.timeout(timeoutMs);
  let conn;
  try {
    conn = await connectWorker({ pid, kind: 'python', discovery: d }, {
      injection: { allowed: false, refusedHint: 'start the worker with the agent' }, activation: { allowed: false }, reconnect: false,
      signal: opts.signal ? AbortSignal.any([deadline, opts.signal]) : deadline,
    });
  } catch (e) {
    if (deadline.aborted && !opts.signal?.aborted) throw new Error(`the agent did not answer within ${timeoutMs / 1000} s (busy in C code holding the GIL, or stopped)`);
    throw e;
  }
  try {
    return await conn.client.python.getThreadStacks({ timeoutMs, signal: opts.signal });
  } finally {
    conn.dispose();
  }
}

/** One process's stacks: the agent's answer, else the outside read, else both reasons. */
export async function readProcessStacks(pid: number, label: string, opts: StacksOptions = {}): Promise<ProcessStacks> {
  const via = opts.via ?? 'auto';
  let agentError: string | null = null;
  if (via !== 'outside') {
    try {
      const r = await agentStacks(pid, opts);
      return { pid, label, result: { ...r, source: r.source ?? 'agent' }, source: 'agent', error: null, agentError: null };
    } catch (e) {
      agentError = (e as Error).message;
      if (via === 'agent') return { pid, label, result: null, source: null, error: agentError, agentError };
    }
  }
  try {
    const r = await readOutsideStacks(pid, { agentDir: opts.agentDir, timeoutMs: opts.outsideTimeoutMs, signal: opts.signal });
    return { pid, label, result: r, source: 'outside', error: null, agentError };
  } catch (e) {
    return { pid, label, result: null, source: null, error: (e as Error).message, agentError };
  }
}

/** Pool children of a main process: agents whose discovery ppid is pid, and /proc entries with that ppid. */
export async function childProcesses(pid: number): Promise<{ pid: number; discovery: DiscoveryFile | null }[]> {
  const found = new Map<number, DiscoveryFile | null>();
  for (const d of await listDiscoveryFiles()) if (d.ppid === pid && d.pid !== pid) found.set(d.pid, d);
  try {
    for (const name of await fs.readdir('/proc')) {
      if (!/^\d+$/.test(name) || found.has(+name)) continue;
      try {
        const st = parseStat(await fs.readFile(`/proc/${name}/stat`, 'utf8'));
        if (st?.ppid === pid && /python/.test(await fs.readlink(`/proc/${name}/exe`).catch(() => st.comm))) found.set(+name, null);
      } catch { /* exited */ }
    }
  } catch { /* no /proc */ }
  return [...found].sort((a, b) => a[0] - b[0]).map(([p, discovery]) => ({ pid: p, discovery }));
}

export function processLabel(pid: number, d: DiscoveryFile | null | undefined): string {
  if (!d) return `pid ${pid}`;
  return d.role === 'main' ? `main (pid ${pid})` : `${d.processName} (pid ${pid})`;
}
