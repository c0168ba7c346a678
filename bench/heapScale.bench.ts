// Scale: a ~1 GB real V8 snapshot (≈14M nodes; VS Code's own viewer fails at 1.1 GB,
// vscode-js-profile-visualizer#183) opened the way the extension opens it — parsed and analysed in
// a heap worker thread, summary then the retainers graph of one type — beside @vscode/v8-heap-parser
// on the same file, each in a fresh process: wall time and peak RSS (goal ≤ 3 GB). The snapshot is
// generated once from a real Node process (v8.writeHeapSnapshot) and cached under os.tmpdir().
// SCALE_ORDERS (default 2,400,000) sets the heap's size. Opt-in: BENCH=heapScale npm run bench.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { CACHE_DIR } from './heapSnapshotGen';
import { HeapWorkerClient } from '../src/heapWorker/client';

const ORDERS = Number(process.env.SCALE_ORDERS ?? 2_400_000);
const WORKER_SCRIPT = path.join(__dirname, '..', 'src', 'heapWorker', 'main.js');

const HEAP = (orders: number, out: string) => `
class Order { constructor(i) { this.id = i; this.customer = 'customer-' + (i % 5000); this.lines = [i, i + 1, i + 2]; this.meta = { created: i, tag: 'order' }; } }
class Session { constructor(i) { this.user = 'user-' + i; this.orders = []; } }
const orders = [];
const sessions = new Map();
for (let i = 0; i < ${orders}; i++) orders.push(new Order(i));
for (let i = 0; i < ${Math.floor(orders / 8)}; i++) { const s = new Session(i); s.orders.push(orders[i * 8]); sessions.set(s.user, s); }
globalThis.keep = { orders, sessions };
require('v8').writeHeapSnapshot(${JSON.stringify(out)});
`;

async function generate(log: (m: string) => void): Promise<string> {
  const file = path.join(CACHE_DIR, `v8-scale-${ORDERS}-node${process.versions.node}.heapsnapshot`);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  const script = path.join(CACHE_DIR, 'scale-heap.js');
  const tmp = `${file}.tmp`;
  fs.writeFileSync(script, HEAP(ORDERS, tmp));
  log(`generating a snapshot of a real Node heap with ${ORDERS.toLocaleString('en-US')} orders (v8.writeHeapSnapshot; cached)…`);
  const t0 = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['--max-old-space-size=12000', script], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('exit', code => (code === 0 ? resolve() : reject(new Error(`the heap process exited with ${code}`))));
  });
  fs.renameSync(tmp, file);
  log(`  written in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return file;
}

interface Run { impl: string; wallMs: number; peakRssMB: number; nodes?: number; classes?: number; paths?: number; parseMs?: number; error?: string }

async function child(impl: string, file: string): Promise<Run> {
  const t0 = performance.now();
  const out: Run = { impl, wallMs: 0, peakRssMB: 0 };
  if (impl === 'ours') {
    const w = new HeapWorkerClient(WORKER_SCRIPT);
    try {
      const p = await w.parseFile(file);
      out.parseMs = p.parseMs;
      out.nodes = p.nodeCount;
      out.classes = (await w.request('summary', { retained: true })).rows.length;
      out.paths = (await w.request('graph', { type: 'Order' })).graph.paths.length;
    } finally { await w.dispose(); }
  } else {
    const v8hp = await import('@vscode/v8-heap-parser');
    const g = v8hp.decode_bytes(fs.readFileSync(file));
    out.classes = g.get_class_groups(0, 1_000_000, false).length;
  }
  out.wallMs = performance.now() - t0;
  out.peakRssMB = process.resourceUsage().maxRSS / 1024;
  return out;
}

async function main(): Promise<void> {
  const [impl, file] = process.argv.slice(2);
  if (impl) { process.stdout.write(JSON.stringify(await child(impl, file)) + '\n'); return; }
  if (!process.env.HEAP_SCALE && !(process.env.BENCH ?? '').includes('heapScale')) {
    console.log('skipped: the 1 GB snapshot takes ~10 min and ~8 GB of memory to generate; run it with BENCH=heapScale npm run bench (or HEAP_SCALE=1)');
    return;
  }
  const snap = await generate(m => console.log(m));
  const gb = fs.statSync(snap).size / 1024 ** 3;
  console.log(`snapshot ${path.basename(snap)}: ${gb.toFixed(2)} GB (${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(1)})`);
  console.log('implementation                       wall       peak RSS   result');
  for (const impl of ['ours', 'v8-heap-parser']) {
    const t0 = Date.now();
    const p = spawnSync(process.execPath, ['--max-old-space-size=8192', __filename, impl, snap], { encoding: 'utf8', timeout: 1_200_000, maxBuffer: 1 << 20 });
    const label = impl === 'ours' ? 'ours (heap worker thread)' : '@vscode/v8-heap-parser';
    if (p.status !== 0) {
      const why = (p.stderr || p.error?.message || `exit ${p.status ?? p.signal}`).split('\n').find(l => /Error|error|memory|abort/i.test(l)) ?? `exit ${p.status ?? p.signal}`;
      console.log(`${label.padEnd(37)}${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s   failed: ${why.trim().slice(0, 120)}`);
      continue;
    }
    const r = JSON.parse(p.stdout.trim().split('\n').pop()!) as Run;
    const what = impl === 'ours' ? `${r.nodes?.toLocaleString('en-US')} nodes, ${r.classes} classes, retainers of Order: ${r.paths} path(s); parse ${((r.parseMs ?? 0) / 1000).toFixed(0)} s` : `${r.classes} classes`;
    console.log(`${label.padEnd(37)}${(r.wallMs / 1000).toFixed(0).padStart(5)} s ${(r.peakRssMB / 1024).toFixed(2).padStart(8)} GB   ${what}`);
  }
  console.log('goal: opens and shows its summary and retainers within ≤ 3 GB (issue 14)');
}

main().catch(e => { console.error(e); process.exit(1); });
