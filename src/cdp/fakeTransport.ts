// In-memory CdpTransport for unit tests (here and in the UI's): scripted answers, events on demand,
// and a drop() that behaves like a worker going away mid-call.
import { CdpEndpoint, CdpProtocolError, CdpTransport, Connector, Unsubscribe } from './transport';

export type FakeHandler = (params: unknown) => unknown;

export class FakeTransport implements CdpTransport {
  /** Every command sent, in order. */
  readonly sent: { method: string; params: unknown }[] = [];
  closed = false;
  private readonly handlers = new Map<string, FakeHandler>();
  private readonly inFlight = new Set<(e: Error) => void>();
  private readonly eventListeners = new Set<(method: string, params: unknown) => void>();
  private readonly closeListeners = new Set<(reason: string) => void>();

  constructor(readonly endpoint?: CdpEndpoint) {}

  /** Answers `method` with the handler's value (or promise); throw a CdpProtocolError for an error response. */
  handle(method: string, handler: FakeHandler): this {
    this.handlers.set(method, handler);
    return this;
  }

  /** Never answers `method` (for timeouts, cancellation, drops mid-call). */
  hang(method: string): this {
    return this.handle(method, () => new Promise(() => undefined));
  }

  send(method: string, params?: object): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('WebSocket connection closed'));
    this.sent.push({ method, params });
    const h = this.handlers.get(method);
    if (!h) return Promise.reject(new CdpProtocolError({ code: -32601, message: `'${method}' wasn't found` }));
    return new Promise((resolve, reject) => {
      this.inFlight.add(reject);
      Promise.resolve().then(() => h(params ?? {})).then(resolve, reject).finally(() => this.inFlight.delete(reject));
    });
  }

  /** Sends an event to the client. */
  emit(method: string, params: unknown): void {
    for (const l of [...this.eventListeners]) l(method, params);
  }

  /** The other side goes away: in-flight commands fail, close listeners fire. */
  drop(reason = 'the connection closed'): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of [...this.closeListeners]) l(reason);
    for (const r of [...this.inFlight]) r(new Error('WebSocket connection closed'));
    this.inFlight.clear();
  }

  onEvent(listener: (method: string, params: unknown) => void): Unsubscribe {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  onClose(listener: (reason: string) => void): Unsubscribe {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  close(): Promise<void> {
    this.closed = true;
    for (const r of [...this.inFlight]) r(new Error('WebSocket connection closed'));
    this.inFlight.clear();
    return Promise.resolve();
  }
}

/** A Connector that hands out transports from `next` (throw to simulate a refused connection). */
export function fakeConnector(next: (endpoint: CdpEndpoint) => FakeTransport | Promise<FakeTransport>): Connector {
  return async (endpoint, signal) => {
    signal.throwIfAborted();
    return await next(endpoint);
  };
}
