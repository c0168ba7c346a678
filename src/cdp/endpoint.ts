// Turns what a user types (`--connect 127.0.0.1:9229`, a ws:// URL) or a pid into a CDP endpoint.
import type { CdpEndpoint } from './transport';
import { listTargets } from './criTransport';
import { endpointFromDiscovery, readDiscoveryFile } from './discovery';

/** `HOST:PORT`, `PORT`, `[::1]:PORT` or `ws://…`; for host:port, the first target of /json/list. */
export async function resolveConnectTarget(spec: string, signal?: AbortSignal): Promise<CdpEndpoint> {
  if (/^wss?:\/\//i.test(spec)) return { webSocketUrl: spec, label: spec.replace(/^(wss?:\/\/[^/]+).*/i, '$1') };
  const m = /^(?:(\[[^\]]+\]|[^:/\s]+):)?(\d{1,5})$/.exec(spec.trim());
  if (!m || Number(m[2]) > 65535) throw new Error(`'${spec}' is not HOST:PORT or a ws:// URL`);
  const host = (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, '');
  const port = Number(m[2]);
  const label = `${m[1] ?? '127.0.0.1'}:${port}`;
  let targets: { webSocketDebuggerUrl?: string }[];
  try {
    targets = await raceSignal(listTargets(host, port), signal, 5000);
  } catch (e) {
    throw new Error(`no CDP endpoint answers at ${label} (${e instanceof Error ? e.message : String(e)}): is the worker running with --inspect or the Worker Lens agent?`);
  }
  const t = targets.find(x => x.webSocketDebuggerUrl);
  if (!t?.webSocketDebuggerUrl) throw new Error(`${label} lists no inspectable target`);
  return { webSocketUrl: t.webSocketDebuggerUrl, label };
}

/** The agent endpoint of a pid, from its discovery file; null when the pid has no agent. */
export async function endpointForPid(pid: number): Promise<CdpEndpoint | null> {
  const d = await readDiscoveryFile(pid);
  return d ? endpointFromDiscovery(d) : null;
}

function raceSignal<T>(p: Promise<T>, signal: AbortSignal | undefined, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    const onAbort = () => { clearTimeout(timer); reject(new Error('cancelled')); };
    signal?.addEventListener('abort', onAbort, { once: true });
    p.then(v => { clearTimeout(timer); signal?.removeEventListener('abort', onAbort); resolve(v); },
      e => { clearTimeout(timer); signal?.removeEventListener('abort', onAbort); reject(e as Error); });
  });
}
