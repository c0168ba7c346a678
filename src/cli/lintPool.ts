// The Celery pool `workerlens lint` orders quick fixes by: the same reading of the workspace as the
// editor's (analysis/workerPool.ts decides, server/pool.ts reads the start files), with `--pool NAME`
// as the CLI's form of the workerLens.celery.pool setting. The workspace is each directory given
// (a file's own directory): what the editor would have open.
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from './command';
import { POOL_SETTINGS, PoolHit, PoolSetting } from '../analysis/workerPool';
import { workspacePoolHits } from '../server/pool';

export function parsePoolOption(v: string): PoolSetting {
  const p = v.trim().toLowerCase();
  if (!(POOL_SETTINGS as readonly string[]).includes(p)) throw new UsageError(`unknown pool '${v}' (use ${POOL_SETTINGS.join(', ')})`);
  return p as PoolSetting;
}

/** The folders whose start files name the pool: directories given, else a file's directory (once each). */
export function poolFolders(resolved: string[]): string[] {
  const out: string[] = [];
  for (const p of resolved) {
    let dir = p;
    try { if (!fs.statSync(p).isDirectory()) dir = path.dirname(p); } catch { dir = path.dirname(p); }
    if (!out.includes(dir)) out.push(dir);
  }
  return out;
}

/** Pools named by launch configs, Procfiles, compose files, units in those folders; files named relative to cwd. */
export function cliPoolHits(folders: string[], cwd: string): PoolHit[] {
  return folders.flatMap(folder => workspacePoolHits([folder]).map(h => ({ ...h, file: relName(path.join(folder, h.file), cwd) })));
}

export function relName(file: string, cwd: string): string {
  return (path.relative(cwd, file) || path.basename(file)).split(path.sep).join('/');
}
