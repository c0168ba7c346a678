// Agent discovery files: $XDG_RUNTIME_DIR/workerlens/<pid>.json, else /tmp/workerlens-<uid>/<pid>.json
// (src/protocol/agent.ts). The worker and the reader may disagree on XDG_RUNTIME_DIR (a worker
// started by systemd, an editor started from a desktop session), so both places are read.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DiscoveryFile } from '../protocol/agent';
import type { CdpEndpoint } from './transport';

/** Directories to look in, the agent's first choice first. */
export function discoveryDirs(env: NodeJS.ProcessEnv = process.env, uid: number = os.userInfo().uid): string[] {
  const dirs: string[] = [];
  if (env.XDG_RUNTIME_DIR) dirs.push(path.join(env.XDG_RUNTIME_DIR, 'workerlens'));
  dirs.push(`/tmp/workerlens-${uid}`);
  return dirs;
}

/** Parses and checks a discovery file's text; null when it is not one. */
export function parseDiscovery(text: string): DiscoveryFile | null {
  let d: unknown;
  try { d = JSON.parse(text); } catch { return null; }
  if (!d || typeof d !== 'object') return null;
  const o = d as Record<string, unknown>;
  if (!Number.isInteger(o.pid) || !Number.isInteger(o.port) || typeof o.token !== 'string' || typeof o.host !== 'string') return null;
  if ((o.port as number) <= 0 || (o.port as number) > 65535) return null;
  return d as DiscoveryFile;
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** The discovery file of a live process, or null. */
export async function readDiscoveryFile(pid: number, dirs = discoveryDirs()): Promise<DiscoveryFile | null> {
  for (const dir of dirs) {
    let text: string;
    try { text = await fs.readFile(path.join(dir, `${pid}.json`), 'utf8'); } catch { continue; }
    const d = parseDiscovery(text);
    if (d && d.pid === pid && alive(pid)) return d;
  }
  return null;
}

/** Discovery files of every live agent (stale files of dead processes are skipped). */
export async function listDiscoveryFiles(dirs = discoveryDirs()): Promise<DiscoveryFile[]> {
  const found = new Map<number, DiscoveryFile>();
  for (const dir of dirs) {
    let names: string[];
    try { names = await fs.readdir(dir); } catch { continue; }
    for (const name of names) {
      const m = /^(\d+)\.json$/.exec(name);
      if (!m || found.has(Number(m[1]))) continue;
      const d = await readDiscoveryFile(Number(m[1]), [dir]);
      if (d) found.set(d.pid, d);
    }
  }
  return [...found.values()];
}

/** "pid 4242 (ForkPoolWorker-1)". */
export function workerLabel(d: Pick<DiscoveryFile, 'pid' | 'processName'>): string {
  return d.processName ? `pid ${d.pid} (${d.processName})` : `pid ${d.pid}`;
}

export function endpointFromDiscovery(d: DiscoveryFile): CdpEndpoint {
  const host = d.host.includes(':') ? `[${d.host}]` : d.host;
  return { webSocketUrl: `ws://${host}:${d.port}/${d.token}`, label: workerLabel(d) };
}
