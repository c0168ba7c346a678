// Extension-host responsiveness while a ~1M-node V8 snapshot is opened (parse + dominators +
// shortest paths + the Retainers graph of one type): event-loop delay of the host thread when the
// work runs in it (before issue 14) vs in a heap worker thread (src/heapWorker), each in a fresh
// process. Figures only; the goal (host p99 ≤ 50 ms) is read here, never asserted in a test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { bigSnapshot } from './heapSnapshotGen';
import { loadHeapSnapshot } from '../src/model/heapSnapshot';
import { HeapAnalysis } from '../src/model/leakReport';
import { buildRetainerGraph } from '../src/model/retainerGraph';
import { HeapWorkerClient } from '../src/heapWorker/client';

const WORKER_SCRIPT = path.join(__dirname, '..', 'src', 'heapWorker', 'main.js');
interface Result { mode: string; wallMs: number; p50: number; p99: number; max: number; nodes: number; paths: number }

async function runMode(mode: string, file: string, type: string): Promise<Result> {
  // A 10 ms timer stands in for the host's own work: each late tick is a delay the user feels.
  const delays: number[] = [];
  let last = performance.now();
  const tick = setInterval(() => { const now = performance.now(); delays.push(Math.max(0, now - last - 10)); last = now; }, 10);
  const t0 = performance.now();
  let nodes = 0, paths = 0;
  if (mode === 'idle') {
    await new Promise(r => setTimeout(r, 3000)); // the machine's own noise: no snapshot at all
  } else if (mode === 'host') {
    const s = await loadHeapSnapshot(fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>);
    const a = new HeapAnalysis(s);
    const g = buildRetainerGraph(a, type).graph;
    nodes = s.nodeCount; paths = g.paths.length;
  } else {
    const w = new HeapWorkerClient(WORKER_SCRIPT);
    try {
      nodes = (await w.parseFile(file)).nodeCount;
      const g = await w.request('graph', { type });
      paths = g.graph.paths.length;
    } finally { await w.dispose(); }
  }
  const wallMs = performance.now() - t0;
  clearInterval(tick);
  delays.push(Math.max(0, performance.now() - last - 10));
  delays.sort((a, b) => a - b);
  const pct = (q: number) => delays[Math.min(delays.length - 1, Math.floor(q * delays.length))];
  return { mode, wallMs, p50: pct(0.5), p99: pct(0.99), max: delays[delays.length - 1], nodes, paths };
}

async function main(): Promise<void> {
  const [mode, file, type] = process.argv.slice(2);
  if (mode) { process.stdout.write(JSON.stringify(await runMode(mode, file, type ?? 'Order')) + '\n'); return; }
  const snap = await bigSnapshot(m => console.log(m));
  const rounds = Number(process.env.HEAP_BENCH_ROUNDS ?? 2);
  console.log(`snapshot ${path.basename(snap)}: ${(fs.statSync(snap).size / 1024 / 1024).toFixed(0)} MB; lateness of a 10 ms timer on the host thread while opening it and drawing the retainers of Order`);
  console.log('where the work runs            wall      timer late p50   p99     longest');
  for (let r = 0; r < rounds; r++) {
    for (const m of ['idle', 'host', 'worker']) {
      const p = spawnSync(process.execPath, ['--max-old-space-size=8192', __filename, m, snap, 'Order'], { encoding: 'utf8', timeout: 300_000 });
      if (p.status !== 0) { console.log(`${m}: failed: ${(p.stderr || `exit ${p.status}`).split('\n')[0]}`); continue; }
      const x = JSON.parse(p.stdout.trim().split('\n').pop()!) as Result;
      const label = m === 'idle' ? 'nothing (machine noise, 3 s)' : m === 'host' ? 'extension host (before)' : 'heap worker thread (now)';
      console.log(`${label.padEnd(30)}${(x.wallMs / 1000).toFixed(2).padStart(6)} s ${x.p50.toFixed(1).padStart(9)} ms ${x.p99.toFixed(1).padStart(7)} ms ${x.max.toFixed(1).padStart(7)} ms   (${x.nodes.toLocaleString('en-US')} nodes, ${x.paths} paths)`);
    }
  }
  console.log(`goal: p99 ≤ 50 ms on the host while the snapshot is analysed (issue 14); load average now ${os.loadavg().map(l => l.toFixed(1)).join(' ')} on ${os.cpus().length} CPUs`);
}

main().catch(e => { console.error(e); process.exit(1); });
