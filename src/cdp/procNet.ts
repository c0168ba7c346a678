// TCP sockets per process from /proc (Linux): /proc/net/tcp{,6} gives each socket's state, ports and
// inode; /proc/PID/fd links name the inodes a process holds. Used to find the port a Node
// inspector really opened, who holds a port, and which processes talk to a local Redis.
import fs from 'node:fs/promises';

export interface TcpSocket { inode: number; localPort: number; remotePort: number; listening: boolean; established: boolean }

/** Parses /proc/net/tcp or tcp6 text (header line first). */
export function parseProcNetTcp(text: string): TcpSocket[] {
  const out: TcpSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const localPort = f[1].split(':')[1];
    const remotePort = f[2].split(':')[1];
    const st = f[3];
    const inode = Number(f[9]);
    if (!localPort || !remotePort || !Number.isFinite(inode) || inode === 0) continue;
    out.push({
      inode, localPort: parseInt(localPort, 16), remotePort: parseInt(remotePort, 16),
      listening: st === '0A', established: st === '01',
    });
  }
  return out;
}

/** Every TCP socket of this network namespace, by inode. */
export async function readTcpSockets(): Promise<Map<number, TcpSocket>> {
  const all = new Map<number, TcpSocket>();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try { for (const s of parseProcNetTcp(await fs.readFile(f, 'utf8'))) all.set(s.inode, s); } catch { /* no IPv6 */ }
  }
  return all;
}

/** Socket inodes a process holds (empty when its fds are not readable: another user's process). */
export async function socketInodes(pid: number): Promise<number[]> {
  let fds: string[];
  try { fds = await fs.readdir(`/proc/${pid}/fd`); } catch { return []; }
  const links = await Promise.all(fds.map(fd => fs.readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
  return links.map(l => /^socket:\[(\d+)\]$/.exec(l)?.[1]).filter((x): x is string => !!x).map(Number);
}

/** TCP sockets of one process. */
export async function processSockets(pid: number, all?: Map<number, TcpSocket>): Promise<TcpSocket[]> {
  const table = all ?? await readTcpSockets();
  return (await socketInodes(pid)).map(i => table.get(i)).filter((s): s is TcpSocket => !!s);
}

/** The pid listening on a TCP port (among the processes whose fds we may read), or null. */
export async function portHolder(port: number): Promise<number | null> {
  const table = await readTcpSockets();
  const inodes = new Set([...table.values()].filter(s => s.listening && s.localPort === port).map(s => s.inode));
  if (!inodes.size) return null;
  for (const name of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    if ((await socketInodes(Number(name))).some(i => inodes.has(i))) return Number(name);
  }
  return -1; // listening, but by a process we cannot see (another user's)
}
