// Starts the agent inside a running Python process that was started without it (ptrace; see
// agent/workerlens_agent/ptrace_inject.py), by spawning
// `python3 -m workerlens_agent inject PID --json` with PYTHONPATH = the repository's agent/ folder.
// Success: one JSON line on stdout (the DiscoveryFile). Failure: non-zero exit and
// {"error":{"code","message","hint"}} on stdout. Progress lines on stderr go to onProgress.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { DiscoveryFile } from '../protocol/agent';
import { parseDiscovery } from './discovery';

export class InjectError extends Error {
  override name = 'InjectError';
  constructor(
    /** The injector's code ("ptrace-denied", "busy", "not-python", …) or ours: "cancelled", "timeout", "no-agent-folder", "no-python", "bad-output". */
    readonly code: string,
    message: string,
    /** What the user can do about it, one sentence (may be empty). */
    readonly hint: string,
  ) {
    super(message);
  }
}

export interface InjectOptions {
  pid: number;
  /** The folder holding workerlens_agent/ (default: found next to this bundle, see findAgentDir). */
  agentDir?: string;
  /** Interpreter to run the injector with (default: python3 on PATH, then /usr/bin/python3). */
  python?: string;
  signal?: AbortSignal;
  /** One line per step the injector reports (stderr lines). */
  onProgress?: (message: string) => void;
  /** Default 60 s (the agent may wait for the GIL behind a long C call). */
  timeoutMs?: number;
}

/**
 * The repository's agent/ folder, looked for upwards from `from`: dist/cli.js and
 * dist/extension.js → ../agent; out/src/cdp/inject.js (tests) → ../../../agent.
 */
export function findAgentDir(from: string = __dirname): string | null {
  let dir = from;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'agent');
    if (fs.existsSync(path.join(candidate, 'workerlens_agent', '__main__.py'))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return null;
}

/** Injects the agent into `pid` and resolves with its discovery file. Rejects with InjectError. */
export async function injectAgent(opts: InjectOptions): Promise<DiscoveryFile> {
  const agentDir = opts.agentDir ?? findAgentDir();
  if (!agentDir) throw new InjectError('no-agent-folder', 'cannot find the Worker Lens agent folder (agent/workerlens_agent) next to this installation', 'reinstall Worker Lens');
  const candidates = opts.python ? [opts.python] : ['python3', '/usr/bin/python3'];
  let lastMissing = '';
  for (const python of candidates) {
    try {
      return await runInjector(python, agentDir, opts);
    } catch (e) {
      if (e instanceof InjectError && e.code === 'no-python') { lastMissing = e.message; continue; }
      throw e;
    }
  }
  throw new InjectError('no-python', lastMissing || 'no Python interpreter found to run the injector', 'install python3 or set workerLens.python.path');
}

function runInjector(python: string, agentDir: string, opts: InjectOptions): Promise<DiscoveryFile> {
  return new Promise<DiscoveryFile>((resolve, reject) => {
    opts.signal?.throwIfAborted();
    const env = { ...process.env, PYTHONPATH: agentDir + (process.env.PYTHONPATH ? path.delimiter + process.env.PYTHONPATH : ''), PYTHONDONTWRITEBYTECODE: '1' };
    const child = spawn(python, ['-m', 'workerlens_agent', 'inject', String(opts.pid), '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '', pendingLine = '';
    let done = false;
    const finish = (err: InjectError | null, d?: DiscoveryFile) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (err) reject(err); else resolve(d as DiscoveryFile);
    };
    const stop = (code: string, message: string, hint: string) => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        // the injector stops at a safe point on SIGTERM (never inside a call into the worker); SIGKILL only as a last resort
        setTimeout(() => { if (child.exitCode === null) child.kill('SIGKILL'); }, 15_000).unref();
      }
      finish(new InjectError(code, message, hint));
    };
    const onAbort = () => stop('cancelled', `injecting the agent into pid ${opts.pid} was cancelled`, '');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const timer = setTimeout(() => stop('timeout', `injecting the agent into pid ${opts.pid} did not finish within ${timeoutMs / 1000} s`, 'the process may be stopped or busy in C code; try again'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString('utf8'); });
    child.stderr.on('data', (d: Buffer) => {
      const text = pendingLine + d.toString('utf8');
      stderr += d.toString('utf8');
      const lines = text.split('\n');
      pendingLine = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) opts.onProgress?.(l.trim());
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') finish(new InjectError('no-python', `cannot run ${python}: not found`, 'install python3 or set workerLens.python.path'));
      else finish(new InjectError('spawn', `cannot run ${python}: ${e.message}`, ''));
    });
    child.on('close', code => {
      if (done) return;
      const lastLine = stdout.trim().split('\n').pop() ?? '';
      let parsed: unknown = null;
      try { parsed = JSON.parse(lastLine); } catch { /* reported below */ }
      const err = (parsed as { error?: { code?: string; message?: string; hint?: string } } | null)?.error;
      if (code !== 0 || err) {
        if (err?.message) finish(new InjectError(err.code ?? 'failed', err.message, err.hint ?? ''));
        else finish(new InjectError('failed', `the injector exited with code ${code}: ${(stderr.trim().split('\n').pop() ?? '').slice(0, 300) || 'no message'}`, ''));
        return;
      }
      const d = parseDiscovery(lastLine);
      if (!d) { finish(new InjectError('bad-output', `the injector printed no discovery record: ${lastLine.slice(0, 200) || '(nothing)'}`, '')); return; }
      finish(null, d);
    });
  });
}
