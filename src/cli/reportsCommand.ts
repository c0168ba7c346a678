// `workerlens reports`: the flight-recorder reports worker processes leave on disk, including
// the last one of each pool child that was recycled or killed. Reading is src/cdp/reportFiles,
// the words are src/model/reports.
import path from 'node:path';
import { CliCommand, CliError, CliIO, UsageError } from './command';
import { ReportReader, reportDirs } from '../cdp/reportFiles';
import { formatReport, formatReportList, reportStatus, sortEntries } from '../model/reports';

const USAGE = `Usage: workerlens reports [--dir DIR] [--pid PID] [--exited] [--format text|json]

Lists the flight-recorder reports of worker processes (started with --workerlens or
--workerlens-metrics): running ones and the last report of each that exited, with why
(max_tasks_per_child, max_memory_per_child, signal 9 → probably the OOM killer).
  --dir DIR      read DIR instead of $WORKERLENS_REPORTS_DIR or <discovery dir>/reports
  --pid PID      print that process's whole report (memory, growing types with a retainer path,
                 last tasks, stacks)
  --exited       only processes that exited or were killed
  --format json  the reports as JSON ({"reports": [...], "notes": [...]})
Files that are truncated or not reports are skipped, each with a note on stderr.`;

interface ReportsArgs { dirs: string[] | undefined; pid: number | undefined; exited: boolean; format: 'text' | 'json' }

function parseArgs(argv: string[], cwd: string): ReportsArgs {
  const a: ReportsArgs = { dirs: undefined, pid: undefined, exited: false, format: 'text' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const next = () => { const v = argv[++i]; if (v === undefined) throw new UsageError(`${k} needs a value`); return v; };
    if (k === '--dir') (a.dirs ??= []).push(path.resolve(cwd, next()));
    else if (k === '--pid') {
      const v = next();
      if (!/^\d+$/.test(v)) throw new UsageError(`--pid needs a process id, not '${v}'`);
      a.pid = Number(v);
    } else if (k === '--exited') a.exited = true;
    else if (k === '--format' || k === '--json') {
      const v = k === '--json' ? 'json' : next();
      if (v !== 'text' && v !== 'json') throw new UsageError(`--format must be text or json, not '${v}'`);
      a.format = v;
    } else throw new UsageError(`unknown option '${k}'`);
  }
  return a;
}

export const reportsCommand: CliCommand = {
  name: 'reports',
  summary: 'flight-recorder reports of worker processes, including recycled and killed pool children',
  usage: USAGE,
  async run(argv: string[], io: CliIO): Promise<number> {
    const args = parseArgs(argv, io.cwd);
    const dirs = args.dirs ?? reportDirs();
    const { entries: all, notes } = await new ReportReader().list(dirs);
    for (const n of notes) io.stderr(`workerlens reports: ${n}\n`);
    let entries = sortEntries(all);
    if (args.exited) entries = entries.filter(e => reportStatus(e) !== 'running');
    if (args.pid !== undefined) {
      entries = entries.filter(e => e.report.pid === args.pid);
      if (!entries.length) throw new CliError(`no report for pid ${args.pid} in ${dirs.join(', ')}`);
      entries = entries.slice(0, 1);  // the newest, if the pid was reused
    }
    if (args.format === 'json') {
      io.stdout(JSON.stringify({
        reports: entries.map(e => ({ file: e.file, status: reportStatus(e), ...e.report })), notes,
      }, null, 2) + '\n');
    } else if (args.pid !== undefined) {
      io.stdout(formatReport(entries[0]));
    } else {
      io.stdout(formatReportList(entries));
    }
    return 0;
  },
};
