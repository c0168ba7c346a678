// Reads the workspace's worker start files (launch configs, Procfiles, compose files, systemd units)
// for the Celery pool they name; the Python settings are read by the scan itself (lintFiles).
import fs from 'node:fs';
import path from 'node:path';
import { PoolHit, poolConfigFiles, poolHitsInFile } from '../analysis/workerPool';

/** Files larger than this are not configs people write by hand: skipped. */
const MAX_BYTES = 512 * 1024;

export function workspacePoolHits(folders: string[]): PoolHit[] {
  const out: PoolHit[] = [];
  for (const folder of folders) {
    for (const file of poolConfigFiles(folder)) {
      try {
        if (fs.statSync(file).size > MAX_BYTES) continue;
        out.push(...poolHitsInFile(file, fs.readFileSync(file, 'utf8')).map(h => ({ ...h, file: path.relative(folder, file).split(path.sep).join('/') })));
      } catch { /* unreadable: it names no pool we can use */ }
    }
  }
  return out;
}
