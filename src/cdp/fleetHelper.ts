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
