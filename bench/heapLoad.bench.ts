// Heap model benchmark: parse + summary + dominators of a ~1M-node real V8 snapshot, ours vs
// @vscode/v8-heap-parser (Rust → wasm) vs Chrome DevTools' loader; wall time and peak RSS, each in
// its own process; then the retainer-path query for one type after load (goal ≤ 50 ms).
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { bigSnapshot } from './heapSnapshotGen';
import { devtoolsLoader } from './heapDevtools';

interface Run { impl: string; loadMs: number; peakRssMB: number; baseRssMB: number; nodes: number; parseMs?: number; query?: { type: string; instances: number; clusters: number; firstMs: number; medianMs: number } }

function measure(impl: string, file: string, extra: string[] = []): Run | { impl: string; error: string } {
  const r = spawnSync(process.execPath, ['--max-old-space-size=8192', path.join(__dirname, 'heapBenchRun.js'), impl, file, ...extra], { encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) return { impl, error: (r.stderr || r.error?.message || `exit ${r.status}`).split('\n')[0] };
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as Run;
}

async function main(): Promise<void> {
  const log = (m: string) => console.log(m);
  const file = await bigSnapshot(log);
  const mb = fs.statSync(file).size / 1024 / 1024;
  const dt = await devtoolsLoader(log);
  const rounds = Number(process.env.HEAP_BENCH_ROUNDS ?? 1);
  const impls: [string, string[]][] = [['ours', ['Order']], ['v8-heap-parser', []]];
  if ('module' in dt) impls.push(['devtools', ['Order', dt.module]]);
  else console.log(`devtools loader: ${dt.error}`);
  const best = new Map<string, Run>();
  for (let round = 0; round < rounds; round++) {
    for (const [impl, extra] of impls) {
      const r = measure(impl, file, extra);
      if ('error' in r) { console.log(`${impl}: failed: ${r.error}`); continue; }
      const prev = best.get(impl);
      if (!prev || r.loadMs < prev.loadMs) best.set(impl, r);
    }
  }
  const ours = best.get('ours');
  console.log(`\nsnapshot: ${path.basename(file)}, ${mb.toFixed(0)} MB, ${ours?.nodes.toLocaleString('en-US') ?? '?'} nodes (best of ${rounds} run${rounds > 1 ? 's' : ''}, each in a fresh process)`);
  console.log('implementation      load (parse+summary+dominators)   peak RSS    vs ours (time, memory)');
  for (const [impl, r] of best) {
    const ratio = ours ? `${(r.loadMs / ours.loadMs).toFixed(2)}×, ${(r.peakRssMB / ours.peakRssMB).toFixed(2)}×` : '';
    console.log(`${impl.padEnd(20)}${(r.loadMs / 1000).toFixed(2).padStart(8)} s${''.padEnd(24)}${r.peakRssMB.toFixed(0).padStart(6)} MB   ${impl === 'ours' ? '' : ratio}`);
  }
  if (ours?.parseMs) console.log(`ours: parse alone ${(ours.parseMs / 1000).toFixed(2)} s (${(mb / (ours.parseMs / 1000)).toFixed(0)} MB/s)`);
  if (ours?.query) console.log(`retainer paths for all ${ours.query.instances.toLocaleString('en-US')} ${ours.query.type} objects → ${ours.query.clusters} cluster(s): median ${ours.query.medianMs.toFixed(1)} ms, slowest ${ours.query.firstMs.toFixed(1)} ms (goal ≤ 50 ms)`);
}

main().catch(e => { console.error(e); process.exit(1); });
