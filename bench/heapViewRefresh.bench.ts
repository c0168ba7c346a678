// Heap view refresh cost for a worker with ~1M objects (issue 6): the worker's pause per refresh
// (Python.getObjectCounts, as the agent reports it) and the extension host's CPU per refresh
// (receive + index + table + growth ranking), against the peer approach of tools without a per-type
// count — a full heap snapshot parsed and summarised per refresh (what DevTools' Memory tab does).
// Goal: worker pause ≤ 60 ms, extension ≤ 20 ms at the default 2 s interval.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CdpClient } from '../src/cdp/client';
import { endpointFromDiscovery, readDiscoveryFile } from '../src/cdp/discovery';
import { captureHeapSnapshot } from '../src/cdp/heapCapture';
import { countsByClass } from '../src/model/summary';
import { heapTable, indexCounts } from '../src/model/heapTable';
import { findGrowthSuspects } from '../src/model/growth';

const root = path.resolve(__dirname, '..', '..');
const OBJECTS = Number(process.env.BENCH_OBJECTS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);

function median(xs: number[]): number { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; }
function p95(xs: number[]): number { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(s.length * 0.95))]; }

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wl-bench-'));
  const script = path.join(dir, 'big_worker.py');
  // ~1M gc-tracked objects of a few user types, like a long-running worker's caches.
  fs.writeFileSync(script, [
    'import time',
    'class Order:',
    '    def __init__(self, i): self.i = i; self.items = [i]',
    'class Session:',
    '    pass',
    `orders = [Order(i) for i in range(${Math.floor(OBJECTS / 3)})]`,
    `sessions = {i: Session() for i in range(${Math.floor(OBJECTS / 6)})}`,
    'print("ready", flush=True)',
    'while True:',
    '    time.sleep(1)',
  ].join('\n'));
  const child = spawn('/usr/bin/python3', ['-m', 'workerlens_agent', 'run', script], { env: { ...process.env, PYTHONPATH: path.join(root, 'agent') }, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => { child.stdout!.on('data', d => { if (String(d).includes('ready')) resolve(); }); child.on('exit', c => reject(new Error(`worker exited ${c}`))); });
    let d = null;
    for (let i = 0; i < 100 && !d; i++) { d = await readDiscoveryFile(child.pid!); if (!d) await new Promise(r => setTimeout(r, 100)); }
    if (!d) throw new Error('no discovery file');
    const disc = d;
    const client = await CdpClient.connect({ worker: `bench pid ${disc.pid}`, locate: () => Promise.resolve(endpointFromDiscovery(disc)), timeoutMs: 60_000 });
    const pauses: number[] = [], walls: number[] = [], cpus: number[] = [];
    const samples: { timestamp: number; counts: Map<string, number> }[] = [];
    let baseline = null as ReturnType<typeof indexCounts> | null;
    let total = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const r = await client.python.getObjectCounts({}, { timeoutMs: 60_000 });
      const idx = indexCounts(r.counts);
      baseline ??= idx;
      heapTable(r.counts, baseline, { sort: 'delta', filter: '', growing: new Set() });
      samples.push({ timestamp: r.timestamp, counts: new Map([...idx].map(([k, v]) => [k, v.count])) });
      findGrowthSuspects(samples.slice(-15));
      const c1 = process.cpuUsage(c0);
      walls.push(performance.now() - t0);
      cpus.push((c1.user + c1.system) / 1000);
      pauses.push(r.pauseMs);
      total = r.totalObjects;
    }
    // Peer: one heap snapshot per refresh, parsed and summarised in the extension host.
    const peerWall: number[] = [], peerCpu: number[] = [];
    for (let i = 0; i < Math.min(3, ROUNDS); i++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const snap = await captureHeapSnapshot(client, { idleTimeoutMs: 600_000 });
      countsByClass(snap);
      const c1 = process.cpuUsage(c0);
      peerWall.push(performance.now() - t0);
      peerCpu.push((c1.user + c1.system) / 1000);
    }
    client.dispose();
    const f = (n: number) => `${n.toFixed(1)} ms`;
    console.log(`worker: ${total.toLocaleString('en-US')} gc-tracked objects (/usr/bin/python3, agent via 'run'), ${ROUNDS} refreshes`);
    console.log('per refresh                       median      p95   goal');
    console.log(`worker pause (agent-reported)   ${f(median(pauses)).padStart(9)} ${f(p95(pauses)).padStart(9)}   ≤ 60 ms`);
    console.log(`extension host CPU              ${f(median(cpus)).padStart(9)} ${f(p95(cpus)).padStart(9)}   ≤ 20 ms`);
    console.log(`refresh wall time               ${f(median(walls)).padStart(9)} ${f(p95(walls)).padStart(9)}`);
    console.log(`peer (snapshot per refresh): wall ${f(median(peerWall))}, extension CPU ${f(median(peerCpu))} → ours is ${(median(peerWall) / median(walls)).toFixed(0)}× faster in wall time, ${(median(peerCpu) / Math.max(0.1, median(cpus))).toFixed(0)}× less extension CPU`);
  } finally {
    child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch(e => { console.error(`heapViewRefresh bench failed: ${(e as Error).message}`); process.exitCode = 1; });
