// Text and JSON renderings of a LeakReport for `workerlens heap`.
import type { LeakReport, LeakSuspect } from '../model/leakReport';
import type { ProcessResult } from '../cdp/processSampler';
import { memoryJson, memoryLines, processJson } from './heapMemoryFormat';

export interface ReportContext {
  /** What was examined: "pid 4242 (leaky.py)", "a.heapsnapshot → b.heapsnapshot". */
  source: string;
  /** Live samples have real time between them; offline series do not. */
  live: boolean;
  notes: string[];
  /** Live: the process asked for first, then its pool children (each with memory and verdict). */
  processes?: ProcessResult[];
  /** Prefork: where the leak is, in one sentence. */
  summary?: string | null;
}

export function reportJson(r: LeakReport, ctx: ReportContext): string {
  const out = {
    source: ctx.source,
    samples: r.samples,
    seconds: ctx.live ? round(r.seconds) : null,
    suspects: r.suspects.map(s => ({
      type: s.type, count: s.count, delta: s.delta, ratePerSecond: ctx.live && s.ratePerSecond !== null ? round(s.ratePerSecond) : null,
      counts: s.counts, builtin: s.builtin, selfSize: s.selfSize, retainedSize: s.retainedSize, bytesDelta: s.bytesDelta ?? null,
      paths: s.paths.map(p => ({ labels: p.labels, count: p.count, text: p.text, sampleIds: p.sampleIds })),
      otherPaths: s.otherPaths, unreachable: s.unreachable,
    })),
    notes: ctx.notes,
    ...(ctx.processes?.length ? memoryJson(ctx.processes[0]) : {}),
    ...(ctx.processes && ctx.processes.length > 1 ? { summary: ctx.summary ?? null, children: ctx.processes.slice(1).map(p => processJson(p, ctx.live)) } : {}),
  };
  return JSON.stringify(out, null, 2) + '\n';
}

export function reportText(r: LeakReport, ctx: ReportContext): string {
  const lines: string[] = [];
  const span = ctx.live && r.samples > 1 ? ` over ${round(r.seconds)} s` : '';
  lines.push(`${ctx.source}: ${r.samples} sample${r.samples === 1 ? '' : 's'}${span}`);
  if (ctx.processes && ctx.processes.length > 1 && ctx.summary) lines.push(ctx.summary);
  if (ctx.processes?.length) lines.push(...memoryLines(ctx.processes[0]));
  if (r.suspects.length === 0) {
    const inContainers = (ctx.processes?.[0]?.containers.length ?? 0) > 0;
    lines.push(r.samples <= 1 ? 'No objects of program-defined types found.'
      : inContainers ? 'No object type grew steadily: the growth is in the containers above (str/bytes the gc does not count).'
        : `No type grew steadily. Take more samples (--samples) or wait longer between them (--interval).`);
  } else {
    lines.push(r.samples > 1 ? 'Growing types, most suspect first:' : 'Largest program-defined types (one sample: nothing to compare):');
    r.suspects.forEach((s, i) => lines.push(...suspectLines(s, i + 1, ctx.live)));
  }
  for (const p of ctx.processes?.slice(1) ?? []) {
    lines.push('', `Pool child ${p.label}:`);
    lines.push(...memoryLines(p).map(l => `  ${l}`));
    if (p.report.suspects.length) {
      lines.push('  Growing types:');
      p.report.suspects.forEach((s, i) => lines.push(...suspectLines(s, i + 1, ctx.live).map(l => `  ${l}`)));
    }
    for (const n of p.notes) lines.push(`  note: ${n}`);
  }
  for (const n of ctx.notes) lines.push(`note: ${n}`);
  return lines.join('\n') + '\n';
}

function suspectLines(s: LeakSuspect, rank: number, live: boolean): string[] {
  const parts = [`count ${num(s.count)}`];
  if (s.delta !== null) parts.push(`${s.delta >= 0 ? '+' : ''}${num(s.delta)}`);
  if (live && s.ratePerSecond) parts.push(`${round(s.ratePerSecond)}/s`);
  if (s.retainedSize !== null) parts.push(`retains ${bytes(s.retainedSize)}`);
  const out = [`${String(rank).padStart(3)}. ${s.type}${s.builtin ? ' (built-in)' : ''}  ${parts.join('  ')}`];
  const width = Math.max(1, ...s.paths.map(p => num(p.count).length));
  for (const p of s.paths) out.push(`       ${num(p.count).padStart(width)}×  ${p.text}`);
  if (s.otherPaths) out.push(`       ${num(s.otherPaths).padStart(width)}×  (other paths)`);
  if (s.unreachable) out.push(`       ${num(s.unreachable).padStart(width)}×  (unreachable: garbage not yet collected)`);
  return out;
}

function num(n: number): string { return Math.round(n).toLocaleString('en-US'); }
function round(n: number): number { return Math.round(n * 10) / 10; }
function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}
