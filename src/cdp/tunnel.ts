// A tunnel to a remote worker's loopback agent, from a user-configured command template such as
// `ssh -N -L {localPort}:127.0.0.1:{port} {host}`. Started without a shell (host names come from
// broker replies: they are checked and passed as single argv words), in its own process group,
// killed with the group on close; a command that fails or exits says so with its stderr.
import { spawn, ChildProcess } from 'node:child_process';
import net from 'node:net';

export class TunnelError extends Error {
  override name = 'TunnelError';
  constructor(message: string, readonly stderr: string) { super(message); }
}

/** Splits a template into argv words like a POSIX shell would (quotes, backslashes; no expansion). */
export function splitTemplate(template: string): string[] {
  const words: string[] = [];
  let cur = '', inWord = false, quote: '"' | "'" | null = null;
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (quote === "'") { if (c === "'") quote = null; else cur += c; continue; }
    if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < template.length && '"\\$`'.includes(template[i + 1])) cur += template[++i];
      else cur += c;
      continue;
    }
    if (c === "'" || c === '"') { quote = c; inWord = true; continue; }
    if (c === '\\' && i + 1 < template.length) { cur += template[++i]; inWord = true; continue; }
    if (/\s/.test(c)) { if (inWord) { words.push(cur); cur = ''; inWord = false; } continue; }
    cur += c; inWord = true;
  }
  if (quote) throw new TunnelError(`the tunnel command has an unclosed ${quote} quote`, '');
  if (inWord) words.push(cur);
  return words;
}

export interface TunnelVars { host: string; port: number; localPort: number; node?: string; pid?: number }

/** argv of the template with {host} {port} {localPort} {node} {pid} filled in, each inside its word. */
export function tunnelArgv(template: string, vars: TunnelVars): string[] {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(vars.host)) throw new TunnelError(`'${vars.host.slice(0, 60)}' is not a host name Worker Lens passes to a tunnel command`, '');
  if (vars.node !== undefined && !/^[A-Za-z0-9@._-]{1,255}$/.test(vars.node)) throw new TunnelError(`'${vars.node.slice(0, 60)}' is not a node name Worker Lens passes to a tunnel command`, '');
  const words = splitTemplate(template);
  if (!words.length) throw new TunnelError('the tunnel command is empty: set workerLens.fleet.tunnelCommand', '');
  const values: Record<string, string> = { host: vars.host, port: String(vars.port), localPort: String(vars.localPort), node: vars.node ?? '', pid: vars.pid === undefined ? '' : String(vars.pid) };
  return words.map(w => w.replace(/\{(host|port|localPort|node|pid)\}/g, (_, k: string) => values[k]));
}

export function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => { const p = (srv.address() as net.AddressInfo).port; srv.close(() => resolve(p)); });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export class Tunnel {
  private closed = false;
  private constructor(private readonly child: ChildProcess, readonly localPort: number, readonly argv: string[], private readonly stderrText: () => string) {}

  /** Starts the command and resolves once 127.0.0.1:localPort accepts a connection. */
  static async open(template: string, vars: Omit<TunnelVars, 'localPort'> & { localPort?: number }, opts: { readyTimeoutMs?: number; signal?: AbortSignal } = {}): Promise<Tunnel> {
    const localPort = vars.localPort ?? await freeLocalPort();
    const argv = tunnelArgv(template, { ...vars, localPort });
    let stderr = '';
    const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { if (stderr.length < 16384) stderr += d; });
    const tunnel = new Tunnel(child, localPort, argv, () => stderr);
    let spawnError: Error | null = null;
    child.once('error', e => { spawnError = e; });
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 15000);
    for (;;) {
      if (spawnError) throw new TunnelError(`cannot run the tunnel command '${argv[0]}': ${(spawnError as Error).message}`, stderr);
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new TunnelError(`the tunnel command exited (${child.exitCode ?? child.signalCode}) before 127.0.0.1:${localPort} opened${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`, stderr);
      }
      if (opts.signal?.aborted) { tunnel.close(); throw new TunnelError('cancelled', stderr); }
      if (await canConnect(localPort)) return tunnel;
      if (Date.now() > deadline) {
        tunnel.close();
        throw new TunnelError(`the tunnel command did not open 127.0.0.1:${localPort} within ${Math.round((opts.readyTimeoutMs ?? 15000) / 1000)} s${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`, stderr);
      }
      await new Promise(r => setTimeout(r, 100));
    }
  }

  get stderr(): string { return this.stderrText(); }
  get exited(): boolean { return this.child.exitCode !== null || this.child.signalCode !== null; }
  onExit(fn: (code: number | null, stderr: string) => void): void { this.child.once('exit', code => { if (!this.closed) fn(code, this.stderrText()); }); }

  /** Kills the command's whole process group (ssh -N, socat forks…); SIGKILL if it lingers. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const pid = this.child.pid;
    if (!pid || this.exited) return;
    try { process.kill(-pid, 'SIGTERM'); } catch { /* gone */ }
    const t = setTimeout(() => { try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ } }, 2000);
    t.unref();
    this.child.once('exit', () => clearTimeout(t));
  }
}
