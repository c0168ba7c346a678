// Flight-recorder reports (src/protocol/reports.ts): checking a file's text, the exit status in
// words, and the plain-text rendering that `workerlens reports` prints and the editor opens.
import { FlightReport, REPORT_FORMAT, REPORT_VERSION, ReportGrowingType } from '../protocol/reports';
import { formatBytes, formatCount } from '../common/format';

export type ParsedReport = { report: FlightReport; note?: undefined } | { report?: undefined; note: string };

/** A report, or why the text is not one (truncated by a full disk, another program's file...). */
export function parseReport(text: string): ParsedReport {
  if (!text.length) return { note: 'empty' };
  let d: unknown;
  try { d = JSON.parse(text); } catch (e) { return { note: `truncated or not JSON (${(e as Error).message.slice(0, 80)})` }; }
  if (!d || typeof d !== 'object' || (d as { format?: unknown }).format !== REPORT_FORMAT) return { note: 'not a Worker Lens report' };
  const o = d as Record<string, unknown>;
  if (o.version !== REPORT_VERSION) return { note: `report format version ${JSON.stringify(o.version)}; this reader knows ${REPORT_VERSION}` };
  if (!Number.isInteger(o.pid) || typeof o.updatedAt !== 'number' || typeof o.startedAt !== 'number' ||
    !o.tasks || typeof o.tasks !== 'object' || !Array.isArray(o.threads)) return { note: 'a report with missing fields' };
  return { report: d as FlightReport };
}

export interface ReportEntry {
  file: string;
  report: FlightReport;
  /** The process is still running (its pid exists and the report has no exit). */
  alive: boolean;
}

export type ReportStatus = 'running' | 'exited' | 'killed' | 'gone';

export function reportStatus(e: ReportEntry): ReportStatus {
  const x = e.report.exit;
  if (!x) return e.alive ? 'running' : 'gone';
  return x.reason === 'sigkill' || x.reason === 'oom_killer' || x.reason === 'signal' ? 'killed' : 'exited';
}

/** "killed by signal 9 (SIGKILL): probably the OOM killer…", or what is known when no exit was recorded. */
export function exitText(e: ReportEntry): string {
  const x = e.report.exit;
  if (x) return x.text;
  return e.alive ? 'running' : 'gone without a recorded exit (the main process did not see it; its last report is kept)';
}

/** The exit in a few words, for a narrow tree row: "killed: signal 9 (OOM killer?)". */
export function shortExit(e: ReportEntry): string {
  const x = e.report.exit;
  if (!x) return e.alive ? 'running' : 'gone';
  switch (x.reason) {
    case 'max_tasks_per_child': return 'recycled: max tasks';
    case 'max_memory_per_child': return 'recycled: max memory';
    case 'recycled': return 'recycled';
    case 'sigkill': return 'killed: signal 9 (OOM killer?)';
    case 'oom_killer': return 'killed: OOM killer';
    case 'signal': return `killed: signal ${x.signal ?? '?'}`;
    case 'error': return `exited: status ${x.exitCode ?? '?'}`;
    case 'shutdown': return 'exited';
    default: return 'gone';
  }
}

/** A process's name in a list: "ForkPoolWorker-3 (child 0)", "MainProcess". */
export function processTitle(r: FlightReport): string {
  const name = r.processName ?? `pid ${r.pid}`;
  return r.role === 'child' && r.childIndex !== null && r.childIndex !== undefined ? `${name} (child ${r.childIndex})` : name;
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function signed(n: number): string {
  return n > 0 ? `+${formatBytes(n)}` : n < 0 ? `−${formatBytes(-n)}` : '±0 B';
}

/** Newest first: exited/killed before running ones when updated at the same time. */
export function sortEntries(entries: ReportEntry[]): ReportEntry[] {
  return [...entries].sort((a, b) => (b.report.exit?.at ?? b.report.updatedAt) - (a.report.exit?.at ?? a.report.updatedAt));
}

/** One line per report, for `workerlens reports`. */
export function formatReportList(entries: ReportEntry[]): string {
  if (!entries.length) return 'No flight-recorder reports. Workers write them with --workerlens or --workerlens-metrics.\n';
  const lines = sortEntries(entries).map(e => {
    const r = e.report;
    const when = r.exit ? `exited ${iso(r.exit.at)}` : `updated ${iso(r.updatedAt)}`;
    return `${String(r.pid).padStart(7)}  ${processTitle(r).padEnd(28)} ${(r.workerName ?? '').padEnd(24)} ` +
      `${formatBytes(r.rssBytes).padStart(8)}  ${when}  ${exitText(e)}`;
  });
  return ['    pid  process                      worker                        rss  status', ...lines,
    '', 'Full report: workerlens reports --pid PID'].join('\n') + '\n';
}

/** A growing type's retainer path in words, "held by tasks.leaky_storage[1234]" then how it was
 *  found (its own line: the path stays visible in a narrow editor), or why there is none. */
export function pathLines(g: ReportGrowingType, countedAt: number): string[] {
  if (g.path === undefined) return [];
  if (g.path === null) return [`no path: ${g.pathNote ?? 'not searched'}`];
  const when = g.pathAt !== undefined && g.pathAt < countedAt - 0.5 ? `; found ${iso(g.pathAt)}` : '';
  return [`held by ${g.pathText ?? g.path.join(' → ')}`, `(${g.pathHow ?? 'by gc referrers'}${when})`];
}

/** The whole report as text: what happened, memory, growing types (with paths), last tasks, stacks. */
export function formatReport(e: ReportEntry): string {
  const r = e.report;
  const out: string[] = [];
  out.push(`Flight-recorder report: ${processTitle(r)}, pid ${r.pid} (parent ${r.ppid})`);
  out.push(`worker ${r.workerName ?? '?'} · pool ${r.pool ?? '?'} · Python ${r.pythonVersion} · agent ${r.agentVersion}`);
  out.push(`started ${iso(r.startedAt)} · last refresh ${iso(r.updatedAt)} (every ${r.intervalSeconds} s) · file ${e.file}`);
  out.push('');
  out.push(`Status: ${exitText(e)}`);
  if (r.exit) {
    out.push(`  recorded by the ${r.exit.by} at ${iso(r.exit.at)}${r.exit.exitCode !== undefined && r.exit.exitCode !== null ? `, exit status ${r.exit.exitCode}` : ''}`);
    if (r.exit.childSaid && r.exit.by !== 'child') out.push(`  the child said: ${r.exit.childSaid.text}`);
    out.push(`  the figures below are from the last refresh, ${Math.max(0, Math.round(r.exit.at - r.updatedAt))} s before the exit was recorded`);
  }
  const lim = r.limits ?? {};
  if (lim.maxTasksPerChild || lim.maxMemoryPerChildKb) {
    out.push(`  limits: max_tasks_per_child=${lim.maxTasksPerChild ?? '—'} · max_memory_per_child=${lim.maxMemoryPerChildKb ? `${lim.maxMemoryPerChildKb} KiB` : '—'}`);
  }
  out.push('');
  out.push(`Memory: RSS ${formatBytes(r.rssBytes)}${r.maxRssBytes ? ` (peak ${formatBytes(r.maxRssBytes)})` : ''} — /proc/self/statm`);
  const parts = r.memory?.parts;
  if (parts && Object.keys(parts).length) {
    for (const [k, v] of Object.entries(parts)) out.push(`  ${k.padEnd(20)} ${formatBytes(v).padStart(9)}  ${r.memory?.how?.[k] ?? ''}`);
  } else {
    out.push(`  breakdown: ${r.memoryNote ?? r.memory?.error ?? 'not sampled yet'}`);
  }
  out.push('');
  const obj = r.objects;
  if (obj) {
    out.push(`Python types that grew most since the first count (${iso(obj.baselineAt)}; ${formatCount(obj.total)} gc-tracked objects at ${iso(obj.at)}, count took ${obj.costMs} ms):`);
    if (obj.at <= obj.baselineAt) out.push('  counted once so far: growth shows from the second count (counts are spaced to stay under 0.5 % of wall time)');
    else if (!obj.growing.length) out.push('  none grew');
    for (const g of obj.growing) {
      out.push(`  ${('+' + formatCount(g.growth)).padStart(10)}  ${g.type} (${formatCount(g.count)} live)`);
      for (const p of pathLines(g, obj.at)) out.push(`              ${p}`);
    }
    if (obj.paths) {
      const s = obj.paths;
      out.push(`  retainer paths: last searched ${iso(s.at)}, took ${s.costMs} ms` +
        `${s.types !== undefined ? ` (${s.types} types, ${s.instances ?? 0} sampled instances, ${s.hops ?? 0} gc.get_referrers hops)` : ''}; a path found is reused for a while`);
    }
  } else {
    out.push('Python types: not counted yet (the first count comes one refresh after start)');
  }
  out.push('');
  const t = r.tasks;
  out.push(`Tasks: ${formatCount(t.completed)} completed${t.running ? `, ${t.running} running at the last refresh` : ''}`);
  for (const [name, runs] of Object.entries(t.runs)) {
    const h = t.memDelta[name];
    const mean = h && h.count ? Math.round(h.sum / h.count) : 0;
    const all = runs.succeeded + runs.failed;
    out.push(`  ${name}: ${formatCount(runs.succeeded)} succeeded, ${formatCount(runs.failed)} failed; RSS change per run ${h && h.count ? `${signed(mean)} on average (RSS measured on ${formatCount(h.count)} of ${formatCount(all)} runs)` : 'not measured (RSS is read on a sample of runs)'}`);
  }
  if (t.recent.length) {
    out.push(`  last ${t.recent.length} (RSS change over each run):`);
    for (const x of [...t.recent].reverse()) {
      out.push(`    ${iso(x.startedAt)}  ${(x.memDeltaBytes === null ? 'not read' : signed(x.memDeltaBytes)).padStart(10)}  ${(x.seconds * 1000).toFixed(1).padStart(8)} ms  ${x.state.padEnd(9)} ${x.name} [${x.taskId}]`);
    }
  }
  out.push('');
  out.push(`Threads at the last refresh (${r.threads.length}):`);
  for (const th of r.threads) {
    out.push(`  ${th.isRecorder ? 'Worker Lens flight recorder' : th.name}${th.daemon ? ' (daemon)' : ''}`);
    for (const f of th.frames.slice(0, 12)) out.push(`    at ${f.functionName} (${f.url}:${f.lineNumber + 1})`);
    if (th.frames.length > 12) out.push(`    … ${th.frames.length - 12} more frames`);
  }
  if (r.recorder?.paused) out.push('', `The recorder was paused: ${r.recorder.paused.reason} (since ${iso(r.recorder.paused.since)})`);
  return out.join('\n') + '\n';
}
