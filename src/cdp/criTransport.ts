// CdpTransport over chrome-remote-interface: the only place that library is used.
import CDP from 'chrome-remote-interface';
import type { TargetInfo } from '../protocol/cdp';
import { CdpEndpoint, CdpProtocolError, CdpResponseError, CdpTransport, Connector, Unsubscribe } from './transport';

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

/** The real Connector: a WebSocket to the endpoint, no protocol download (we send by method name). */
export const connectChromeRemoteInterface: Connector = async (endpoint: CdpEndpoint, signal: AbortSignal) => {
  signal.throwIfAborted();
  const pending = CDP({ target: endpoint.webSocketUrl, protocol: { domains: [] } as unknown as CDP.Protocol }) as Promise<CriClient>;
  const aborted = new Promise<never>((_, reject) => {
    const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('cancelled'));
    signal.addEventListener('abort', onAbort, { once: true });
    void pending.finally(() => signal.removeEventListener('abort', onAbort)).catch(() => undefined);
  });
  try {
    return new CriTransport(await Promise.race([pending, aborted]));
  } catch (e) {
    // a connection that completes after the abort must not stay open
    pending.then(c => c.close(), () => undefined).catch(() => undefined);
    throw e;
  }
};

/** Targets listed by a CDP HTTP endpoint (`/json/list`): Node's inspector, Chrome, the agent. */
export async function listTargets(host: string, port: number): Promise<TargetInfo[]> {
  return await CDP.List({ host, port }) as TargetInfo[];
}
