#!/usr/bin/env node
// `npm run bench`: builds, then runs every benchmark and prints its figures (never asserted).
//   bench/*.bench.ts  -> node out/bench/NAME.bench.js
//   bench/*.bench.py  -> /usr/bin/python3 bench/NAME.bench.py (PYTHONPATH=agent)
// BENCH=name,name runs a subset (matched against file names).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
process.chdir(root);
const only = process.env.BENCH ? process.env.BENCH.split(',') : null;
const sh = (cmd, args, env = {}) => spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } }).status ?? 1;

if (sh(process.execPath, ['esbuild.mjs']) || sh('npx', ['tsc', '-p', '.'])) process.exit(1);
const files = fs.existsSync('bench') ? fs.readdirSync('bench').filter(f => /\.bench\.(ts|py)$/.test(f)).sort() : [];
let failures = 0;
for (const f of files) {
  if (only && !only.some(o => f.includes(o))) continue;
  console.log(`\n##### ${f}`);
  const status = f.endsWith('.py')
    ? sh('/usr/bin/python3', [path.join('bench', f)], { PYTHONPATH: path.join(root, 'agent') })
    : sh(process.execPath, ['--expose-gc', path.join('out', 'bench', f.replace(/\.ts$/, '.js'))]);
  if (status !== 0) { failures++; console.log(`##### ${f} failed (exit ${status})`); }
}
process.exit(failures ? 1 : 0);
