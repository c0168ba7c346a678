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

/**
 * Why a discovery directory or file must not be believed (null: fine, or absent). /tmp is shared:
 * another user can pre-create /tmp/workerlens-<uid> and put a fake agent's address in it, so the
 * directory must be a real directory owned by us (or root) and closed to others (the agent makes it
 * 0700), and each file a regular file of ours nobody else may write (the agent writes 0600).
 */
export async function untrustedReason(p: string, isDir: boolean, uid: number = os.userInfo().uid): Promise<string | null> {
  let st: import('node:fs').Stats;
  try { st = await fs.lstat(p); } catch (e) { return (e as NodeJS.ErrnoException).code === 'ENOENT' ? null : `cannot check ${p}: ${(e as Error).message}`; }
  if (isDir ? !st.isDirectory() : !st.isFile()) return `${p} is not a ${isDir ? 'directory' : 'regular file'} (a symlink or something planted): refusing to trust it`;
  if (st.uid !== uid && st.uid !== 0) return `${p} belongs to uid ${st.uid}, not to you (uid ${uid}): refusing to trust it; remove it and restart the worker's agent`;
  if (st.mode & 0o022) return `${p} has mode ${(st.mode & 0o777).toString(8)}: others could change it; refusing to trust it`;
  return null;
}

/** Thrown when the only discovery record for a pid sits somewhere another user could have planted it. */
export class UntrustedDiscoveryError extends Error {
  override name = 'UntrustedDiscoveryError';
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** The discovery file of a live process, or null. Throws UntrustedDiscoveryError when the only
 * record found is in a directory or file that fails the ownership/mode check. */
export async function readDiscoveryFile(pid: number, dirs = discoveryDirs()): Promise<DiscoveryFile | null> {
  let refused: string | null = null;
  for (const dir of dirs) {
    const file = path.join(dir, `${pid}.json`);
    const why = (await untrustedReason(dir, true)) ?? (await untrustedReason(file, false));
    if (why) { refused ??= why; continue; }
    let text: string;
    try { text = await fs.readFile(file, 'utf8'); } catch { continue; }
    const d = parseDiscovery(text);
    if (d && d.pid === pid && alive(pid)) return d;
  }
  if (refused) throw new UntrustedDiscoveryError(refused);
  return null;
}

/** Discovery files of every live agent (stale files of dead processes are skipped; so are untrusted
 * directories and files, reported through onUntrusted). */
export async function listDiscoveryFiles(dirs = discoveryDirs(), onUntrusted?: (why: string) => void): Promise<DiscoveryFile[]> {
  const found = new Map<number, DiscoveryFile>();
  for (const dir of dirs) {
    const why = await untrustedReason(dir, true);
    if (why) { onUntrusted?.(why); continue; }
    let names: string[];
    try { names = await fs.readdir(dir); } catch { continue; }
    for (const name of names) {
      const m = /^(\d+)\.json$/.exec(name);
      if (!m || found.has(Number(m[1]))) continue;
      let d: DiscoveryFile | null = null;
      try { d = await readDiscoveryFile(Number(m[1]), [dir]); } catch (e) { onUntrusted?.((e as Error).message); }
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
