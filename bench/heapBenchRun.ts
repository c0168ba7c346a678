// One measurement in a fresh process (so peak RSS belongs to one implementation):
//   node out/bench/heapBenchRun.js ours|v8-heap-parser|devtools FILE [TYPE] [DEVTOOLS_MODULE]
// Prints one JSON line: load time (parse + summary + dominators/retained sizes), peak RSS, counts.
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { loadHeapSnapshot } from '../src/model/heapSnapshot';
import { HeapAnalysis } from '../src/model/leakReport';

async function main(): Promise<void> {
  const [impl, file, type = 'Order', devtoolsModule = ''] = process.argv.slice(2);
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const out: Record<string, unknown> = { impl };
  if (impl === 'ours') {
    const s = await loadHeapSnapshot(fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>);
    out.parseMs = performance.now() - t0;
    const a = new HeapAnalysis(s);
    out.loadMs = performance.now() - t0;
    out.nodes = s.nodeCount; out.edges = s.edgeCount;
    out.classes = a.summary.length;
    const times: number[] = [];
    let clusters = 0, count = 0;
    for (let i = 0; i < 5; i++) {
      const q0 = performance.now();
      const r = a.retainerClusters(type);
      times.push(performance.now() - q0);
      clusters = r.clusters.length; count = r.clusters.reduce((n, c) => n + c.count, 0) + r.others;
    }
    times.sort((x, y) => x - y);
    out.query = { type, instances: count, clusters, firstMs: times[0] === undefined ? null : Math.max(...times), medianMs: times[2] };
  } else if (impl === 'v8-heap-parser') {
    const v8hp = await import('@vscode/v8-heap-parser');
    const g = v8hp.decode_bytes(fs.readFileSync(file));
    const groups = g.get_class_groups(0, 1_000_000, false); // with retained sizes (dominators)
    out.loadMs = performance.now() - t0;
    out.classes = groups.length;
    out.nodes = groups.reduce((n, c) => n + c.children_len, 0);
  } else if (impl === 'devtools') {
    const mod = await import(pathToFileURL(devtoolsModule).href) as { load(chunks: AsyncIterable<string>): Promise<{ nodeCount: number; aggregatesWithFilter(f: object): Record<string, unknown> }> };
    const snap = await mod.load(fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 }) as AsyncIterable<string>);
    const agg = snap.aggregatesWithFilter({});
    out.loadMs = performance.now() - t0;
    out.nodes = snap.nodeCount;
    out.classes = Object.keys(agg).length;
  } else {
    throw new Error(`unknown implementation ${impl}`);
  }
  out.peakRssMB = process.resourceUsage().maxRSS / 1024;
  out.baseRssMB = rssBefore / 1024 / 1024;
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch(e => { process.stderr.write(`${(e as Error).stack ?? e}\n`); process.exit(1); });
