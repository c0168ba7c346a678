// Runs the fleet helper, `python -m workerlens_agent fleet`, with the interpreter the user chose
// (their Celery and kombu speak to their broker; Worker Lens speaks no broker protocol). Used by the
// CLI (`workerlens fleet`) and the Fleet view alike. The broker URL goes in the environment, never
// on the command line (other users can read /proc/PID/cmdline).
import { spawn } from 'node:child_process';
import { fleetFromLines, type FleetState } from '../model/fleet';
import { findAgentDir } from './inject';

export interface FleetRunOptions {
  broker: string;
  /** Interpreter with Celery (default python3). */
  python?: string;
  agentDir?: string;
  /** Seconds to wait for replies after the last one (Celery's broadcast timeout). Default 1. */
  timeoutS?: number;
  /** Seconds each worker may spend asking its pool children. */
  budgetS?: number;
  /** Ask for agent tokens (for attaching through a tunnel). */
  attach?: boolean;
  /** Per-type counts at most this often per process (seconds; the worker's default is 60). */
  countsEveryS?: number;
  signal?: AbortSignal;
}

export class FleetError extends Error {
  override name = 'FleetError';
  constructor(readonly code: string, message: string) { super(message); }
}

/** One fleet refresh. Rejects with FleetError (broker down, no Celery, helper crashed, cancelled). */
export function runFleet(opts: FleetRunOptions): Promise<FleetState & { wallMs: number }> {
  const agentDir = opts.agentDir ?? findAgentDir();
  if (!agentDir) return Promise.reject(new FleetError('no-agent-folder', 'cannot find the Worker Lens agent folder (agent/workerlens_agent)'));
  const python = opts.python || 'python3';
  const args = ['-m', 'workerlens_agent', 'fleet', '--timeout', String(opts.timeoutS ?? 1)];
  if (opts.budgetS) args.push('--budget', String(opts.budgetS));
  if (opts.attach) args.push('--attach');
  if (opts.countsEveryS) args.push('--counts-every', String(opts.countsEveryS));
  const env: NodeJS.ProcessEnv = { ...process.env, WORKERLENS_BROKER_URL: opts.broker, PYTHONPATH: agentDir + (process.env.PYTHONPATH ? `:${process.env.PYTHONPATH}` : ''), PYTHONDONTWRITEBYTECODE: '1' };
  delete env.WORKERLENS; // the helper must never start an agent itself
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    let child;
    try { child = spawn(python, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }); } catch (e) {
      reject(new FleetError('no-python', `cannot run ${python}: ${(e as Error).message}`)); return;
    }
    let out = '', err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { if (out.length < 32 << 20) out += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { if (err.length < 64 << 10) err += d; });
    // Celery's import and the broker connection take a few seconds on a slow machine; never forever.
    const limit = setTimeout(() => { child.kill('SIGKILL'); }, ((opts.timeoutS ?? 1) + (opts.budgetS ?? 1) + 30) * 1000);
    const onAbort = () => child.kill('SIGKILL');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', e => {
      clearTimeout(limit);
      reject(new FleetError('no-python', `cannot run ${python} (${e.message}): set workerLens.fleet.python to the interpreter of your workers' environment`));
    });
    child.on('close', (code, sig) => {
      clearTimeout(limit);
      opts.signal?.removeEventListener('abort', onAbort);
      if (opts.signal?.aborted) { reject(new FleetError('cancelled', 'cancelled')); return; }
      const state = fleetFromLines(out.split('\n'));
      if (state.error) { reject(new FleetError(state.error.code, state.error.message)); return; }
      if (!state.done) {
        const tail = err.trim().split('\n').slice(-3).join(' | ') || `exit ${code ?? sig}`;
        reject(new FleetError('helper-failed', `the fleet helper (${python} -m workerlens_agent fleet) failed: ${tail.replace(opts.broker, '<broker>')}`));
        return;
      }
      resolve({ ...state, wallMs: Date.now() - t0 });
    });
  });
}

/**
 * A long-lived helper (`fleet --serve`) for repeated refreshes: no Python start, Celery import or
 * broker connection per refresh (seconds on a busy machine). One request at a time; a helper that
 * exits is restarted at the next refresh; dispose() kills it.
 */
export class FleetHelper {
  private child: ReturnType<typeof spawn> | null = null;
  private buf = '';
  private err = '';
  private lines: string[] = [];
  private waiter: ((done: boolean) => void) | null = null;
  private busy = false;

  constructor(private readonly opts: Omit<FleetRunOptions, 'signal' | 'attach'>) {}

  private start(): ReturnType<typeof spawn> {
    const agentDir = this.opts.agentDir ?? findAgentDir();
    if (!agentDir) throw new FleetError('no-agent-folder', 'cannot find the Worker Lens agent folder (agent/workerlens_agent)');
    const python = this.opts.python || 'python3';
    const args = ['-m', 'workerlens_agent', 'fleet', '--serve', '--timeout', String(this.opts.timeoutS ?? 1)];
    if (this.opts.budgetS) args.push('--budget', String(this.opts.budgetS));
    if (this.opts.countsEveryS) args.push('--counts-every', String(this.opts.countsEveryS));
    const env: NodeJS.ProcessEnv = { ...process.env, WORKERLENS_BROKER_URL: this.opts.broker, PYTHONPATH: agentDir + (process.env.PYTHONPATH ? `:${process.env.PYTHONPATH}` : ''), PYTHONDONTWRITEBYTECODE: '1' };
    delete env.WORKERLENS;
    const child = spawn(python, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.buf = ''; this.err = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.buf += d;
      for (let nl = this.buf.indexOf('\n'); nl >= 0; nl = this.buf.indexOf('\n')) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        this.lines.push(line);
        if (/"type": "(done|error)"/.test(line)) this.waiter?.(true);
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { if (this.err.length < 64 << 10) this.err += d; });
    child.on('error', e => { this.err += `\n${e.message}`; });
    child.on('exit', () => { if (this.child === child) this.child = null; this.waiter?.(false); });
    return child;
  }

  /** One refresh; `expect` = stop waiting once that many replies came (Celery's broadcast limit). */
  async refresh(req: { expect?: number | null; attach?: boolean } = {}, signal?: AbortSignal): Promise<FleetState & { wallMs: number }> {
    if (this.busy) throw new FleetError('busy', 'a fleet refresh is already running');
    this.busy = true;
    const t0 = Date.now();
    try {
      const child = this.child ??= this.start();
      this.lines = [];
      let limit: NodeJS.Timeout | undefined;
      const finished = new Promise<boolean>(resolve => {
        this.waiter = resolve;
        limit = setTimeout(() => resolve(false), ((this.opts.timeoutS ?? 1) + (this.opts.budgetS ?? 1) + 30) * 1000);
        signal?.addEventListener('abort', () => resolve(false), { once: true });
      });
      child.stdin?.write(JSON.stringify({ expect: req.expect ?? null, attach: req.attach === true }) + '\n');
      const ok = await finished;
      clearTimeout(limit);
      this.waiter = null;
      if (signal?.aborted) { this.dispose(); throw new FleetError('cancelled', 'cancelled'); }
      const state = fleetFromLines(this.lines);
      if (state.error && !state.done) {
        if (['no-celery', 'usage', 'helper-output'].includes(state.error.code)) this.dispose();
        throw new FleetError(state.error.code, state.error.message);
      }
      if (!ok || !state.done) {
        this.dispose();
        const python = this.opts.python || 'python3';
        const tail = this.err.trim().split('\n').slice(-3).join(' | ') || 'no answer';
        throw new FleetError('helper-failed', `the fleet helper (${python} -m workerlens_agent fleet --serve) failed: ${tail.replace(this.opts.broker, '<broker>')}`);
      }
      return { ...state, wallMs: Date.now() - t0 };
    } finally {
      this.busy = false;
    }
  }

  dispose(): void {
    const c = this.child;
    this.child = null;
    if (c && c.exitCode === null) { c.stdin?.end(); c.kill('SIGKILL'); }
  }
}
