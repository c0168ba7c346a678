// Opens the inspector of a running Node process without restarting it, the way VS Code's
// debugger (js-debug) does: process._debugProcess(pid), i.e. SIGUSR1, after which Node listens on
// 127.0.0.1:<--inspect-port, default 9229>. The port it really opened is read from the sockets the
// process holds (/proc), so a custom or random port works too; a port already held by another
// process is named before anything is sent (Node would fail to bind and stay without inspector).
import fs from 'node:fs/promises';
import type { ProcessEntry } from '../model/workerList';
import { activationPort, canActivateInspector, sigusr1Disabled } from '../model/workerList';
import { listTargets } from './criTransport';
import { portHolder, processSockets } from './procNet';
import type { CdpEndpoint } from './transport';

export class ActivationError extends Error {
  override name = 'ActivationError';
  constructor(readonly code: 'not-node' | 'self' | 'disabled' | 'port-in-use' | 'not-permitted' | 'no-inspector' | 'cancelled', message: string) {
    super(message);
  }
}

async function nodeOptionsOf(pid: number): Promise<string> {
  try {
    const env = await fs.readFile(`/proc/${pid}/environ`, 'utf8');
    return env.split('\0').find(v => v.startsWith('NODE_OPTIONS='))?.slice('NODE_OPTIONS='.length) ?? '';
  } catch { return ''; }
}

/** The first inspector target listening on one of the process's own ports, or null. */
export async function inspectorOf(pid: number): Promise<CdpEndpoint | null> {
  const ports = (await processSockets(pid)).filter(s => s.listening).map(s => s.localPort);
  for (const port of new Set(ports)) {
    try {
      const t = (await listTargets('127.0.0.1', port)).find(x => x.webSocketDebuggerUrl);
      if (t?.webSocketDebuggerUrl) return { webSocketUrl: t.webSocketDebuggerUrl, label: `127.0.0.1:${port}` };
    } catch { /* not an HTTP inspector port (the app's own server) */ }
  }
  return null;
}

function describe(pid: number, cmd: string): string {
  return `pid ${pid}${cmd ? ` (${cmd.slice(0, 60)})` : ''}`;
}

/** Activates (or finds) the inspector of `p`; resolves with its endpoint. Rejects with ActivationError. */
export async function activateInspector(p: ProcessEntry, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<CdpEndpoint> {
  if (p.pid === process.pid) throw new ActivationError('self', `pid ${p.pid} is this process`);
  if (!canActivateInspector(p)) throw new ActivationError('not-node', `pid ${p.pid} does not run a node executable we can see (${p.exe ?? 'exe not readable'}): SIGUSR1 would end a process that is not Node, so it is not sent`);
  const nodeOptions = await nodeOptionsOf(p.pid);
  if (sigusr1Disabled(p.argv, nodeOptions)) throw new ActivationError('disabled', `pid ${p.pid} runs with --disable-sigusr1: its inspector cannot be opened from outside; restart it with --inspect=127.0.0.1:PORT`);
  const already = await inspectorOf(p.pid);
  if (already) return already;
  const port = activationPort(p.argv, nodeOptions);
  if (port !== 0) {
    const holder = await portHolder(port);
    if (holder !== null && holder !== p.pid) {
      let cmd = '';
      try { cmd = (await fs.readFile(`/proc/${holder}/cmdline`, 'utf8')).split('\0').join(' ').trim(); } catch { /* not ours to read */ }
      const who = holder > 0 ? describe(holder, cmd) : 'a process of another user';
      throw new ActivationError('port-in-use', `port ${port} is taken by ${who}: pid ${p.pid} would open its inspector there and fail. Close that inspector (detach or stop ${holder > 0 ? `pid ${holder}` : 'it'}), or start pid ${p.pid} with --inspect-port=0 (any free port) or --inspect=127.0.0.1:PORT`);
    }
  }
  try {
    // js-debug's call: on POSIX it sends SIGUSR1; Node's handler opens the inspector.
    const debugProcess = (process as unknown as { _debugProcess?: (pid: number) => void })._debugProcess;
    if (debugProcess) debugProcess(p.pid); else process.kill(p.pid, 'SIGUSR1');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EPERM') throw new ActivationError('not-permitted', `not permitted to signal pid ${p.pid} (another user's process)`);
    throw new ActivationError('no-inspector', `cannot signal pid ${p.pid}: ${(e as Error).message}`);
  }
  const deadline = Date.now() + (opts.timeoutMs ?? 5000);
  while (Date.now() < deadline) {
    if (opts.signal?.aborted) throw new ActivationError('cancelled', `opening the inspector of pid ${p.pid} was cancelled`);
    await new Promise(r => setTimeout(r, 100));
    const found = await inspectorOf(p.pid);
    if (found) return found;
  }
  throw new ActivationError('no-inspector', `pid ${p.pid} did not open its inspector within ${((opts.timeoutMs ?? 5000) / 1000).toFixed(0)} s of SIGUSR1 (its own SIGUSR1 handler, or a Node without inspector support?)`);
}
