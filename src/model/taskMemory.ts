// Per-task memory for the Tasks view: a task's RSS change per measured run, spread over the agent's
// histogram buckets (agent tasksample.py), and what the figures rest on ("RSS measured on N of M runs").
import type { TaskStat } from '../protocol/agent';
import { formatBytes, formatCount } from '../common/format';

export interface HistogramRow { label: string; runs: number; share: number; /** "80 %", never "100 %" or "0 %" unless it is. */ shareText: string }

function percent(n: number, total: number): string {
  if (!total) return '0 %';
  const p = (100 * n) / total;
  if (n < total && p >= 99.5) return '>99 %';
  if (n > 0 && p < 0.5) return '<1 %';
  return `${Math.round(p)} %`;
}

function signed(n: number): string {
  return n > 0 ? `+${formatBytes(n)}` : n < 0 ? `−${formatBytes(-n)}` : '0 B';
}

/** Non-empty buckets as rows (lower bound exclusive, upper inclusive): "+64 KB … +256 KB", "above +64 MB", "−1 MB or less". */
export function histogramRows(bounds: readonly number[] | undefined, counts: readonly number[] | undefined): HistogramRow[] {
  if (!bounds || !counts || counts.length !== bounds.length + 1) return [];
  const total = counts.reduce((a, b) => a + b, 0);
  const rows: HistogramRow[] = [];
  counts.forEach((n, i) => {
    if (!n) return;
    const lo = i > 0 ? bounds[i - 1] : null, hi = i < bounds.length ? bounds[i] : null;
    const label = lo === null ? `${signed(hi as number)} or less`
      : hi === null ? `above ${signed(lo)}` : `${signed(lo)} … ${signed(hi)}`;
    rows.push({ label, runs: n, share: total ? n / total : 0, shareText: percent(n, total) });
  });
  return rows;
}

export interface TaskMemorySummary {
  measured: number;
  perRunBytes: number | null;
  /** "RSS measured on 120 of 3,000 runs" / "RSS measured on every run (12)". */
  basis: string;
}

export function taskMemory(t: TaskStat): TaskMemorySummary {
  const measured = t.memSampledRuns ?? t.runs;
  const basis = measured >= t.runs ? `RSS measured on every run (${formatCount(t.runs)})` : `RSS measured on ${formatCount(measured)} of ${formatCount(t.runs)} runs`;
  return { measured, perRunBytes: measured ? t.memDeltaBytes / measured : null, basis };
}
