// Reading flight-recorder reports from disk (written by the agent's recorder.py): the same
// directories the agent picks — $WORKERLENS_REPORTS_DIR, else <discovery dir>/reports — both
// discovery places, since the worker and the reader may disagree on XDG_RUNTIME_DIR.
// Shared by `workerlens reports` and the Workers view; a cache keyed by size+mtime keeps the
// view's 2 s polling from re-parsing files that did not change.
import fs from 'node:fs/promises';
import path from 'node:path';
import { discoveryDirs } from './discovery';
import { parseReport, ReportEntry } from '../model/reports';
import type { FlightReport } from '../protocol/reports';

const MAX_READ = 1 << 20;

export function reportDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs = env.WORKERLENS_REPORTS_DIR ? [path.resolve(env.WORKERLENS_REPORTS_DIR)] : [];
  for (const d of discoveryDirs(env)) dirs.push(path.join(d, 'reports'));
  return [...new Set(dirs)];
}

export function pidAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

export interface ReportListing { entries: ReportEntry[]; notes: string[] }

interface Cached { key: string; report?: FlightReport; note?: string }

export class ReportReader {
  private readonly cache = new Map<string, Cached>();

  /**
   * Every report in dirs. `exitedOnly` skips files of running processes without reading them
   * (their pid is in the name), which is what the Workers view needs every 2 s.
   */
  async list(dirs: string[], opts: { exitedOnly?: boolean } = {}): Promise<ReportListing> {
    const entries: ReportEntry[] = [];
    const notes: string[] = [];
    const seen = new Set<string>();
    for (const dir of dirs) {
      let names: string[];
      try { names = await fs.readdir(dir); } catch { continue; }
      for (const name of names.sort()) {
        const m = /^(\d+)-(\d+)\.json$/.exec(name);
        if (!m) continue;
        const full = path.join(dir, name);
        seen.add(full);
        const pid = Number(m[1]);
        const alive = pidAlive(pid);
        let st;
        try { st = await fs.lstat(full); } catch { continue; }
        if (!st.isFile()) { notes.push(`skipped ${name}: not a regular file`); continue; }
        const key = `${st.size}:${st.mtimeMs}`;
        let c = this.cache.get(full);
        if (opts.exitedOnly && alive && !(c?.key === key && c.report?.exit)) continue;
        if (!c || c.key !== key) {
          c = { key, ...(st.size > MAX_READ ? { note: `too large (${st.size} bytes) for a report` } : await readOne(full)) };
          this.cache.set(full, c);
        }
        if (c.note) { notes.push(`skipped ${name}: ${c.note}`); continue; }
        if (c.report) entries.push({ file: full, report: c.report, alive: alive && !c.report.exit });
      }
    }
    for (const k of [...this.cache.keys()]) if (!seen.has(k)) this.cache.delete(k);
    return { entries, notes };
  }
}

async function readOne(full: string): Promise<{ report?: FlightReport; note?: string }> {
  let text: string;
  try { text = await fs.readFile(full, 'utf8'); } catch (e) { return { note: `unreadable: ${(e as Error).message}` }; }
  const p = parseReport(text);
  return p.report ? { report: p.report } : { note: p.note };
}
