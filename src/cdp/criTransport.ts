// CdpTransport over chrome-remote-interface: the only place that library is used.
import { EventEmitter } from 'node:events';
import CDP from 'chrome-remote-interface';
import Chrome from 'chrome-remote-interface/lib/chrome.js';
import type { TargetInfo } from '../protocol/cdp';
import { CdpEndpoint, CdpProtocolError, CdpResponseError, CdpTransport, Unsubscribe } from './transport';

type CriClient = CDP.Client & {
  on(event: 'event', listener: (message: { method: string; params: unknown }) => void): CriClient;
  on(event: 'disconnect', listener: () => void): CriClient;
  removeListener(event: string, listener: (...args: never[]) => void): CriClient;
};

class CriTransport implements CdpTransport {
  private closing = false;
  private readonly eventListeners = new Set<(method: string, params: unknown) => void>();
  private readonly closeListeners = new Set<(reason: string) => void>();

  constructor(private readonly client: CriClient) {
    client.on('event', message => { for (const l of [...this.eventListeners]) l(message.method, message.params); });
    client.on('disconnect', () => {
      if (this.closing) return;
      this.closing = true;
      for (const l of [...this.closeListeners]) l('the connection closed');
    });
  }

  async send(method: string, params?: object): Promise<unknown> {
    try {
      return await (this.client.send as (m: string, p?: object) => Promise<unknown>)(method, params ?? {});
    } catch (e) {
      const response = (e as { response?: CdpResponseError }).response;
      if (response && typeof response.code === 'number') throw new CdpProtocolError(response);
      throw e;
    }
  }

  onEvent(listener: (method: string, params: unknown) => void): Unsubscribe {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  onClose(listener: (reason: string) => void): Unsubscribe {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closing = true;
    try { await this.client.close(); } catch { /* already gone */ }
  }
}

/** How long the WebSocket upgrade may take once asked for (CdpClient's own connect timeout is shorter). */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * The real Connector: a WebSocket to the endpoint, no protocol download (we send by method name).
 * The handshake is bounded: a server that accepts TCP and never answers the upgrade (a stopped
 * worker, an agent whose thread cannot run while a C call holds the GIL, a port that is not CDP)
 * fails after handshakeTimeoutMs or when the signal aborts, and its socket is destroyed then.
 */
export function connectChromeRemoteInterface(endpoint: CdpEndpoint, signal: AbortSignal, handshakeTimeoutMs = HANDSHAKE_TIMEOUT_MS): Promise<CdpTransport> {
  signal.throwIfAborted();
  return new Promise<CdpTransport>((resolve, reject) => {
    const notifier = new EventEmitter();
    let settled = false;
    let chrome: Chrome | null = null;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      try { chrome?._ws?.terminate(); } catch { /* already gone */ }
      reject(e);
    };
    const onAbort = () => fail(signal.reason instanceof Error ? signal.reason : new Error('cancelled'));
    const timer = setTimeout(() => fail(new Error(`no answer to the WebSocket handshake within ${handshakeTimeoutMs / 1000} s: the endpoint accepted the connection but did not answer (a stopped worker, an agent blocked by a C call that holds the GIL, or not a CDP endpoint)`)), handshakeTimeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    notifier.once('connect', (client: CriClient) => {
      // a connection that completes after a timeout or an abort must not stay open
      if (settled) { void client.close().catch(() => undefined); return; }
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(new CriTransport(client));
    });
    notifier.once('error', (e: Error) => fail(e));
    try {
      chrome = new Chrome({ target: endpoint.webSocketUrl, protocol: { domains: [] } }, notifier);
    } catch (e) { fail(e as Error); }
  });
}
/** Targets listed by a CDP HTTP endpoint (`/json/list`): Node's inspector, Chrome, the agent. */
export async function listTargets(host: string, port: number): Promise<TargetInfo[]> {
  return await CDP.List({ host, port }) as TargetInfo[];
}
