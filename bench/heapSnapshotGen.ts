// Makes (once, cached under os.tmpdir()) a real V8 .heapsnapshot of about a million nodes: a Node
// process with a big heap of class instances, strings, arrays and Maps, snapshotted over CDP.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { CdpClient } from '../src/cdp/client';

export const CACHE_DIR = path.join(os.tmpdir(), 'workerlens-bench');

const BIG_HEAP = `
class Order { constructor(i) { this.id = i; this.customer = 'customer-' + (i % 5000); this.lines = [i, i + 1, i + 2]; this.meta = { created: i, tag: 'order' }; } }
class Session { constructor(i) { this.user = 'user-' + i; this.orders = []; } }
const orders = [];
const sessions = new Map();
for (let i = 0; i < 170000; i++) orders.push(new Order(i));
for (let i = 0; i < 20000; i++) { const s = new Session(i); s.orders.push(orders[i * 8]); sessions.set(s.user, s); }
globalThis.keep = { orders, sessions };
setInterval(() => {}, 1000);
`;

/** Path of the cached snapshot, generating it when missing. */
export async function bigSnapshot(log: (m: string) => void): Promise<string> {
  const file = path.join(CACHE_DIR, `v8-1m-node${process.versions.node}.heapsnapshot`);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  const script = path.join(CACHE_DIR, 'big-heap.js');
  fs.writeFileSync(script, BIG_HEAP);
  log('generating a ~1M-node V8 snapshot (cached for later runs)…');
  const child = spawn(process.execPath, ['--inspect=127.0.0.1:0', script], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const wsUrl = await new Promise<string>((resolve, reject) => {
      let err = '';
      child.stderr.on('data', (d: Buffer) => { err += d; const m = /(ws:\/\/[\d.]+:\d+\/[\w-]+)/.exec(err); if (m) resolve(m[1]); });
      child.on('exit', () => reject(new Error(`big-heap process exited: ${err}`)));
    });
    await new Promise(r => setTimeout(r, 1500)); // let it build its heap
    const client = await CdpClient.connect({ worker: 'big-heap', locate: async () => ({ webSocketUrl: wsUrl, label: 'big-heap' }) });
    const tmp = file + '.tmp';
    const out = fs.createWriteStream(tmp);
    try {
      await client.heapProfiler.takeHeapSnapshot({ onChunk: c => { out.write(c); } });
    } finally { client.dispose(); }
    await new Promise<void>(r => out.end(r));
    fs.renameSync(tmp, file);
    return file;
  } finally {
    child.kill('SIGKILL');
  }
}
