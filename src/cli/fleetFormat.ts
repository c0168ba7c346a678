// Text and JSON output of `workerlens fleet` (the view shows the same model/fleet figures).
import type { FleetState, FleetWorker } from '../model/fleet';
import { FLEET_HOW, fleetTaskTable, groupByHost, sparkline, workerGrowth, workerTrend } from '../model/fleet';
import { formatBytes, plural } from '../common/format';

const clock = (s: number) => new Date(s * 1000).toISOString().slice(11, 19);
const signed = (n: number) => `${n >= 0 ? '+' : '−'}${formatBytes(Math.abs(n))}`;

export function workerSummary(w: FleetWorker): string {
  if (!w.reply) return `${w.status === 'no-answer' ? 'no answer' : 'unknown'}: ${w.reason ?? ''}`;
  const r = w.reply;
  const parts = [`${r.pool ?? '?'}${r.concurrency ? ` ×${r.concurrency}` : ''}`, `RSS ${formatBytes(w.rssBytes)}`];
  if (w.growthBytes !== null && w.since !== null) parts.push(`${signed(w.growthBytes)} since ${clock(w.since)}`);
  const trend = sparkline(workerTrend(w));
  if (trend) parts.push(trend);
  if (w.taskMemBytes) parts.push(`tasks ${signed(w.taskMemBytes)}`);
  const g = workerGrowth(w);
  if (g.length) parts.push('growing: ' + g.map(x => `${x.module}.${x.type} +${x.delta}`).join(', '));
  return parts.join('  ');
}

export function fleetText(state: FleetState & { wallMs?: number }, broker: string): string {
  const lines: string[] = [];
  const d = state.done;
  lines.push(`Fleet on ${broker}: ${plural(d?.workers ?? state.workers.length, 'worker')} (${plural(d?.replies ?? 0, 'reply', 'replies')}) in ${((state.wallMs ?? d?.elapsedMs ?? 0) / 1000).toFixed(1)} s`);
  for (const g of groupByHost(state.workers.filter(w => w.status === 'ok'))) {
    lines.push(`host ${g.host}`);
    for (const w of g.workers) {
      lines.push(`  ${w.node}${w.duplicate ? ' [DUPLICATE NODE NAME]' : ''}  ${workerSummary(w)}`);
      for (const x of workerGrowth(w).filter(x => x.path)) lines.push(`    ${x.module}.${x.type} held by ${x.path}${x.pathHow ? `  (${x.pathHow})` : ''}`);
      for (const p of w.reply?.processes ?? []) {
        const grown = p.rssBytes !== null && p.rssFirstBytes !== null ? `  ${signed(p.rssBytes - p.rssFirstBytes)}` : '';
        const port = p.agentPort ? `  agent 127.0.0.1:${p.agentPort}` : '';
        lines.push(`    ${(p.role === 'main' ? 'main' : p.processName ?? 'child').padEnd(18)} pid ${String(p.pid).padEnd(7)} ${p.rssBytes === null ? '?' : formatBytes(p.rssBytes)}${grown}${port}${p.error ? `  (${p.error})` : ''}`);
      }
    }
  }
  const bad = state.workers.filter(w => w.status !== 'ok');
  if (bad.length) {
    lines.push('Not readable:');
    for (const w of bad) lines.push(`  ${w.node}${w.duplicate ? ' [DUPLICATE NODE NAME]' : ''}: ${workerSummary(w)}`);
  }
  const tasks = fleetTaskTable(state.workers);
  if (tasks.length) {
    lines.push('Tasks, fleet-wide (RSS change per run):');
    for (const t of tasks.slice(0, 20)) lines.push(`  ${t.name.padEnd(28)} ${signed(t.perRunBytes)}/run  ${plural(t.runs, 'run')} on ${plural(t.workers, 'worker')}  total ${signed(t.memDeltaBytes)} (RSS measured on ${t.memSampledRuns.toLocaleString('en-US')} of ${t.runs.toLocaleString('en-US')} runs)`);
  }
  lines.push(FLEET_HOW);
  return lines.join('\n') + '\n';
}

export function fleetJson(state: FleetState & { wallMs?: number }, broker: string): string {
  return JSON.stringify({ broker, wallMs: state.wallMs ?? null, done: state.done, workers: state.workers, tasks: fleetTaskTable(state.workers), how: FLEET_HOW }, null, 2) + '\n';
}
