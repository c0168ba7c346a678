// `workerlens heap`: leak suspects and their retainer paths, live (--pid / --connect) or from
// .heapsnapshot files. Parsing, growth and paths are src/model; reaching workers is src/cdp.
import fs from 'node:fs';
import path from 'node:path';
import { CliCommand, CliError, CliIO } from './command';
import { HEAP_USAGE, parseHeapArgs } from './heapArgs';
import { reportJson, reportText } from './heapFormat';
import { runLive } from './heapLive';
import { HeapSnapshot, loadHeapSnapshot, SnapshotFormatError } from '../model/heapSnapshot';
import { buildLeakReport, HeapAnalysis } from '../model/leakReport';
import type { CountSample } from '../model/growth';
import { countsByClass } from '../model/summary';

async function loadFile(file: string, cwd: string): Promise<HeapSnapshot> {
  const full = path.resolve(cwd, file);
  let st: fs.Stats;
  try { st = fs.statSync(full); } catch { throw new CliError(`cannot read ${file}: no such file`); }
  if (st.isDirectory()) throw new CliError(`${file} is a directory, not a .heapsnapshot file`);
  try {
    return await loadHeapSnapshot(fs.createReadStream(full, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>);
  } catch (e) {
    if (e instanceof SnapshotFormatError) throw new CliError(`${file}: ${e.message}`);
    const code = (e as NodeJS.ErrnoException).code;
    if (code) throw new CliError(`cannot read ${file}: ${(e as Error).message}`);
    throw e;
  }
}

export const heapCommand: CliCommand = {
  name: 'heap',
  summary: 'find growing object types and who keeps them alive (live worker or .heapsnapshot files)',
  usage: HEAP_USAGE,
  async run(argv: string[], io: CliIO): Promise<number> {
    const args = parseHeapArgs(argv);
    const progress = args.format === 'text' ? (m: string) => io.stderr(`${m}\n`) : () => undefined;
    if (args.files.length > 0) {
      const files = args.compare ? [args.compare, ...args.files] : args.files;
      const samples: CountSample[] = [];
      let first: HeapSnapshot | undefined;
      let last: HeapSnapshot | undefined;
      for (const [i, f] of files.entries()) {
        const s = await loadFile(f, io.cwd);
        samples.push({ timestamp: i, counts: countsByClass(s) });
        if (i === 0) first = s;
        last = s;
      }
      const report = buildLeakReport({ samples, last: new HeapAnalysis(last as HeapSnapshot), first: files.length > 1 ? first : undefined, maxSuspects: args.top });
      const ctx = { source: files.join(' → '), live: false, notes: [] };
      io.stdout(args.format === 'json' ? reportJson(report, ctx) : reportText(report, ctx));
      return 0;
    }
    const live = await runLive(args, progress);
    const ctx = { source: live.source, live: true, notes: live.notes, processes: live.processes, summary: live.summary };
    io.stdout(args.format === 'json' ? reportJson(live.report, ctx) : reportText(live.report, ctx));
    return 0;
  },
};
