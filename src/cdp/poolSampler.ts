// Several processes sampled side by side — a prefork main with its pool children — for
// `workerlens heap --pid MAIN` and the UI's Pool Memory view (one implementation for both).
// A child that stops answering is left out with a note; the first target's failure is the answer.
import { preforkSummary } from '../model/memoryVerdict';
import { ProcessResult, ProcessSampler, ProcessTarget } from './processSampler';

export interface PoolSampleOptions {
  samples: number;
  intervalMs: number;
  top: number;
  trim: boolean;
  /** One snapshot per process at the end for retainer paths (where a type grows). */
  paths: boolean;
  progress?: (message: string, done: number, total: number) => void;
  /** The result so far, after each sample from the second (no snapshot, no trim: those come at the end). */
  partial?: (result: PoolSampleResult, done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface PoolSampleResult {
  /** In target order (the first is the process asked for), minus those that stopped answering. */
  processes: ProcessResult[];
  /** Where the leak is, in one sentence (null unless a main with children was sampled). */
  summary: string | null;
  notes: string[];
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) { reject(new Error('cancelled')); return; }
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(t); reject(new Error('cancelled')); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export async function samplePool(targets: readonly ProcessTarget[], opts: PoolSampleOptions): Promise<PoolSampleResult> {
  const notes: string[] = [];
  const samplers = targets.map(t => new ProcessSampler(t));
  const first = samplers[0];
  for (let i = 0; i < opts.samples; i++) {
    if (i > 0) await sleep(opts.intervalMs, opts.signal);
    if (opts.signal?.aborted) throw new Error('cancelled');
    opts.progress?.(`sample ${i + 1}/${opts.samples}…`, i, opts.samples);
    await Promise.all([...samplers].map(s => s.sample(i).catch(e => {
      if (s === first) throw e;  // the pid asked for: its failure is the answer
      notes.push(`${s.target.label} stopped answering (${(e as Error).message}): left out`);
      samplers.splice(samplers.indexOf(s), 1);
    })));
    if (opts.partial && i > 0 && i < opts.samples - 1) {
      const soFar: ProcessResult[] = [];
      for (const s of samplers) soFar.push(await s.finish({ top: opts.top, trim: false, paths: false }));
      opts.partial({ processes: soFar, summary: summaryOf(soFar), notes: [...notes] }, i + 1, opts.samples);
    }
  }
  if (opts.paths && targets[0]?.conn.kind === 'python') opts.progress?.('heap snapshot for retainer paths…', opts.samples, opts.samples);
  const processes: ProcessResult[] = [];
  for (const s of samplers) processes.push(await s.finish({ top: opts.top, trim: opts.trim, paths: opts.paths }));
  return { processes, summary: summaryOf(processes), notes };
}

function summaryOf(processes: readonly ProcessResult[]): string | null {
  return preforkSummary(processes.map(p => ({ label: p.label, pid: p.pid ?? 0, role: p.role ?? 'process', verdict: p.verdict })));
}
