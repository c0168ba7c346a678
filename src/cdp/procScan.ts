// Reads the process table from /proc for the Workers view (Linux only). Unreadable entries
// (processes that exited mid-scan, other users' cmdlines) are skipped, never thrown.
import fs from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { isNode, ProcessEntry } from '../model/workerList';
import { processSockets, readTcpSockets } from './procNet';

const PAGE_SIZE = 4096;

/** Parses /proc/PID/stat; comm may contain spaces and parentheses, so split after the LAST ')'. */
export function parseStat(text: string): { comm: string; ppid: number; rssPages: number } | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const fields = text.slice(close + 2).split(' ');
  // fields[0] = state, [1] = ppid, ..., [21] = rss (field 24 of stat)
  const ppid = Number(fields[1]);
  const rssPages = Number(fields[21]);
  if (!Number.isFinite(ppid)) return null;
  return { comm: text.slice(open + 1, close), ppid, rssPages: Number.isFinite(rssPages) ? rssPages : 0 };
}

/** One process from /proc; null when it does not exist (or exited, or is a kernel thread). */
export async function readProcess(pid: number): Promise<ProcessEntry | null> {
  try {
    const [stat, cmdline, status] = await Promise.all([
      fs.readFile(`/proc/${pid}/stat`, 'utf8'),
      fs.readFile(`/proc/${pid}/cmdline`, 'utf8'),
      fs.readFile(`/proc/${pid}/status`, 'utf8'),
    ]);
    const s = parseStat(stat);
    if (!s || !cmdline) return null; // kernel threads have an empty cmdline
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
    let exe: string | null = null;
    try { exe = await fs.readlink(`/proc/${pid}/exe`); } catch { /* other user's process */ }
    return { pid, ppid: s.ppid, uid, comm: s.comm, argv: cmdline.replace(/\0$/, '').split('\0'), rssBytes: s.rssPages * PAGE_SIZE, exe };
  } catch {
    return null; // exited during the scan, or not readable
  }
}

/** Resident memory of a process from /proc/PID/statm (no request to the process: costs it nothing); null when unreadable. */
export async function readRssBytes(pid: number): Promise<number | null> {
  try {
    const pages = Number((await fs.readFile(`/proc/${pid}/statm`, 'utf8')).split(' ')[1]);
    return Number.isFinite(pages) ? pages * PAGE_SIZE : null;
  } catch {
    return null;
  }
}

export async function scanProcesses(): Promise<ProcessEntry[]> {
  const names = await fs.readdir('/proc');
  const pids = names.filter(n => /^\d+$/.test(n)).map(Number);
  const entries = (await Promise.all(pids.map(readProcess))).filter((e): e is ProcessEntry => e !== null);
  // Sockets only where the Workers view uses them (is a Node process talking to a local Redis?).
  const wanted = entries.filter(e => isNode(e) || e.comm === 'redis-server');
  if (wanted.length) {
    const table = await readTcpSockets();
    await Promise.all(wanted.map(async e => {
      e.sockets = (await processSockets(e.pid, table)).map(s => ({ localPort: s.localPort, remotePort: s.remotePort, listening: s.listening, established: s.established }));
    }));
  }
  return entries;
}

/** True while the process exists and is not a zombie (exited, not yet reaped by its parent). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
