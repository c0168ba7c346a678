// Typed CDP client for one worker: every call has a timeout and takes an AbortSignal, errors name
// the method and the worker, and a dropped connection (worker restarted, agent re-injected) is
// re-established by asking `locate` where the endpoint is now. Pending calls never hang: a drop
// rejects them at once with kind 'disconnected'.
import type { GetMemoryBreakdownParams, GetObjectCountsParams } from '../protocol/agent';
import { CdpError, describeError } from './errors';
import type { CdpEvents, CdpMethod, ParamsOf, ResultOf } from './methods';
import { CdpEndpoint, CdpProtocolError, CdpTransport, Connector, Unsubscribe } from './transport';
import { connectChromeRemoteInterface } from './criTransport';

export type ClientState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

export interface CallOptions {
  signal?: AbortSignal;
  /** Overrides the client's default timeout; 0 = none. */
  timeoutMs?: number;
}

export interface CdpClientOptions {
  /** How errors and logs name the worker: "pid 4242 (ForkPoolWorker-1)". */
  worker: string;
  /** Where the endpoint is now; called to connect and again after each drop (re-read the discovery file). */
  locate: (signal: AbortSignal) => Promise<CdpEndpoint>;
  /** Default: chrome-remote-interface. Tests pass a FakeTransport connector. */
  connector?: Connector;
  /** Default timeout per call, ms (10 s). */
  timeoutMs?: number;
  /** Per connection attempt, ms (5 s). */
  connectTimeoutMs?: number;
  /** Delays between reconnection attempts, ms; false = do not reconnect. Default [250, 500, 1000, 2000, 4000]. */
  reconnectDelaysMs?: number[] | false;
  /** Trace log of the CDP traffic (method names, sizes, errors). */
  log?: (message: string) => void;
}

interface PendingCall {
  method: string;
  sent: boolean;
  fail(e: CdpError): void;
}

export interface SnapshotOptions extends CallOptions {
  /** Each piece of the `.heapsnapshot` text, in order. Throwing aborts the snapshot. */
  onChunk: (chunk: string) => void;
  onProgress?: (done: number, total: number) => void;
  /** Give up when no chunk or progress arrives for this long (default 60 s); the overall call has no fixed timeout. */
  idleTimeoutMs?: number;
}

export class CdpClient {
  private transport: CdpTransport | null = null;
  private currentEndpoint: CdpEndpoint | null = null;
  private stateValue: ClientState = 'connecting';
  private readonly pending = new Set<PendingCall>();
  private readonly eventListeners = new Map<string, Set<(params: unknown) => void>>();
  private readonly stateListeners = new Set<(state: ClientState, detail: string) => void>();
  private readyWaiters: { resolve(t: CdpTransport): void; reject(e: Error): void }[] = [];
  private transportSubs: Unsubscribe[] = [];
  private readonly life = new AbortController();
  private closeReason = '';
  private readonly connector: Connector;
  private readonly timeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly delays: number[];

  private constructor(private readonly opts: CdpClientOptions) {
    this.connector = opts.connector ?? connectChromeRemoteInterface;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 5_000;
    this.delays = opts.reconnectDelaysMs === false ? [] : opts.reconnectDelaysMs ?? [250, 500, 1000, 2000, 4000];
  }

  /** Connects (first attempt only; reconnection applies after that). Rejects with CdpError kind 'connect' / 'cancelled'. */
  static async connect(opts: CdpClientOptions, signal?: AbortSignal): Promise<CdpClient> {
    const client = new CdpClient(opts);
    try {
      client.attach(await client.open(signal));
    } catch (e) {
      client.dispose();
      throw e;
    }
    return client;
  }

  get worker(): string { return this.opts.worker; }
  get state(): ClientState { return this.stateValue; }
  /** The endpoint of the current (or last) connection. */
  get endpoint(): CdpEndpoint | null { return this.currentEndpoint; }

  /** State changes: 'reconnecting' after a drop, 'connected' again after a reconnection (re-enable domains then), 'closed' for good. */
  onStateChange(listener: (state: ClientState, detail: string) => void): Unsubscribe {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Subscribes to a CDP event; the subscription survives reconnections. */
  onEvent<E extends keyof CdpEvents>(method: E, listener: (params: CdpEvents[E]) => void): Unsubscribe;
  onEvent(method: string, listener: (params: unknown) => void): Unsubscribe;
  onEvent(method: string, listener: (params: never) => void): Unsubscribe {
    let set = this.eventListeners.get(method);
    if (!set) { set = new Set(); this.eventListeners.set(method, set); }
    const l = listener as (params: unknown) => void;
    set.add(l);
    return () => { set.delete(l); };
  }

  /** One CDP call. Rejects with CdpError: timeout, cancelled, disconnected, closed or protocol. */
  call<M extends CdpMethod>(method: M, params?: ParamsOf<M>, opts?: CallOptions): Promise<ResultOf<M>>;
  call(method: string, params?: object, opts?: CallOptions): Promise<unknown>;
  call(method: string, params?: object, opts: CallOptions = {}): Promise<unknown> {
    const worker = this.opts.worker;
    if (this.stateValue === 'closed') return Promise.reject(new CdpError('closed', method, worker, `${method} on ${worker}: not connected (${this.closeReason})`));
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    return new Promise((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const entry: PendingCall = { method, sent: false, fail: e => finish(() => reject(e)) };
      const onAbort = () => finish(() => reject(new CdpError('cancelled', method, worker, `${method} on ${worker} was cancelled`)));
      const finish = (settle: () => void) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        this.pending.delete(entry);
        settle();
      };
      if (opts.signal?.aborted) { onAbort(); return; }
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs > 0) {
        timer = setTimeout(() => finish(() => reject(new CdpError('timeout', method, worker,
          `${method} on ${worker} got no answer within ${formatMs(timeoutMs)}: the worker may be busy or stuck; try again or raise the timeout`))), timeoutMs);
      }
      this.pending.add(entry);
      this.ready().then(t => {
        if (settled) return undefined;
        entry.sent = true;
        this.opts.log?.(`→ ${method}`);
        return t.send(method, params).then(
          result => { this.opts.log?.(`← ${method}`); finish(() => resolve(result)); },
          e => finish(() => reject(this.wrapError(method, e))));
      }, e => finish(() => reject(e instanceof CdpError ? e : this.wrapError(method, e))));
    });
  }

  /** The agent's Python domain (src/protocol/agent.ts). */
  readonly python = {
    enable: (o?: CallOptions) => this.call('Python.enable', {}, o),
    disable: (o?: CallOptions) => this.call('Python.disable', {}, o),
    getObjectCounts: (params: GetObjectCountsParams = {}, o?: CallOptions) => this.call('Python.getObjectCounts', params, o),
    getProcessInfo: (o?: CallOptions) => this.call('Python.getProcessInfo', {}, o),
    getThreadStacks: (o?: CallOptions) => this.call('Python.getThreadStacks', {}, o),
    getTaskStats: (o?: CallOptions) => this.call('Python.getTaskStats', {}, o),
    getResourceCounts: (o?: CallOptions) => this.call('Python.getResourceCounts', {}, o),
    getMemoryBreakdown: (params: GetMemoryBreakdownParams = {}, o?: CallOptions) => this.call('Python.getMemoryBreakdown', params, o),
    trimMemory: (o?: CallOptions) => this.call('Python.trimMemory', {}, o),
  };

  readonly runtime = {
    getHeapUsage: (o?: CallOptions) => this.call('Runtime.getHeapUsage', {}, o),
  };

  readonly heapProfiler = {
    enable: (o?: CallOptions) => this.call('HeapProfiler.enable', {}, o),
    disable: (o?: CallOptions) => this.call('HeapProfiler.disable', {}, o),
    collectGarbage: (o?: CallOptions) => this.call('HeapProfiler.collectGarbage', {}, o),
    startSampling: (params: ParamsOf<'HeapProfiler.startSampling'> = {}, o?: CallOptions) => this.call('HeapProfiler.startSampling', params, o),
    stopSampling: (o?: CallOptions) => this.call('HeapProfiler.stopSampling', {}, o),
    getSamplingProfile: (o?: CallOptions) => this.call('HeapProfiler.getSamplingProfile', {}, o),
    /** Streams a `.heapsnapshot` to onChunk. Resolves when the worker has sent all of it. */
    takeHeapSnapshot: (o: SnapshotOptions) => this.takeHeapSnapshot(o),
  };

  private async takeHeapSnapshot(o: SnapshotOptions): Promise<void> {
    const idle = o.idleTimeoutMs ?? 60_000;
    const stop = new AbortController();
    let failure: unknown = null;
    let timer: NodeJS.Timeout | undefined;
    const touch = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => { failure = new CdpError('timeout', 'HeapProfiler.takeHeapSnapshot', this.opts.worker, `HeapProfiler.takeHeapSnapshot on ${this.opts.worker} sent nothing for ${formatMs(idle)}: the worker may be stuck`); stop.abort(); }, idle);
    };
    const onOuterAbort = () => stop.abort();
    o.signal?.addEventListener('abort', onOuterAbort, { once: true });
    const subs = [
      this.onEvent('HeapProfiler.addHeapSnapshotChunk', p => {
        if (failure) return;
        touch();
        try { o.onChunk(p.chunk); } catch (e) { failure = e; stop.abort(); }
      }),
      this.onEvent('HeapProfiler.reportHeapSnapshotProgress', p => { touch(); o.onProgress?.(p.done, p.total); }),
    ];
    touch();
    try {
      await this.call('HeapProfiler.takeHeapSnapshot', { reportProgress: !!o.onProgress }, { signal: o.signal?.aborted ? o.signal : stop.signal, timeoutMs: o.timeoutMs ?? 0 });
    } catch (e) {
      if (failure) throw failure;
      throw e;
    } finally {
      if (timer) clearTimeout(timer);
      for (const s of subs) s();
      o.signal?.removeEventListener('abort', onOuterAbort);
    }
    if (failure) throw failure;
  }

  /** Closes the connection; pending calls reject with kind 'closed'. Idempotent. */
  dispose(): void {
    if (this.stateValue === 'closed') return;
    this.closeWith('disposed');
  }

  // -- connection management -------------------------------------------------------------------

  private async open(signal?: AbortSignal): Promise<CdpTransport> {
    const worker = this.opts.worker;
    const timeout = new AbortController();
    let handshaking = false;
    // The connector tears its socket down on this abort; the reason says which step hung.
    const timer = setTimeout(() => timeout.abort(new Error(handshaking
      ? `no answer to the WebSocket handshake within ${formatMs(this.connectTimeoutMs)}: the endpoint accepted the connection but did not answer (a stopped worker, an agent blocked by a C call that holds the GIL, or not a CDP endpoint)`
      : `no connection within ${formatMs(this.connectTimeoutMs)}`)), this.connectTimeoutMs);
    const attempt = AbortSignal.any([this.life.signal, timeout.signal, ...(signal ? [signal] : [])]);
    // A connector that ignores the signal must still not hold us past it.
    const gaveUp = new Promise<never>((_, reject) => {
      const onAbort = () => reject(attempt.reason instanceof Error ? attempt.reason : new Error('cancelled'));
      if (attempt.aborted) onAbort(); else attempt.addEventListener('abort', onAbort, { once: true });
    });
    gaveUp.catch(() => undefined);
    let endpoint: CdpEndpoint | null = null;
    try {
      endpoint = await Promise.race([this.opts.locate(attempt), gaveUp]);
      handshaking = true;
      const connecting = this.connector(endpoint, attempt);
      connecting.then(t => { if (attempt.aborted) void t.close(); }, () => undefined);
      const t = await Promise.race([connecting, gaveUp]);
      this.currentEndpoint = endpoint;
      return t;
    } catch (e) {
      if (signal?.aborted) throw new CdpError('cancelled', 'connect', worker, `connecting to ${worker} was cancelled`);
      const where = endpoint ? ` at ${endpoint.webSocketUrl.replace(/\/[^/]*$/, '/…')}` : '';
      throw new CdpError('connect', 'connect', worker, `cannot connect to ${worker}${where}: ${describeError(e)}`);
    } finally {
      clearTimeout(timer);
    }
  }

  private attach(t: CdpTransport): void {
    if (this.stateValue === 'closed') { void t.close(); return; }
    this.transport = t;
    this.transportSubs = [
      t.onEvent((method, params) => {
        const set = this.eventListeners.get(method);
        if (set) for (const l of [...set]) { try { l(params); } catch (e) { this.opts.log?.(`event ${method} listener failed: ${describeError(e)}`); } }
      }),
      t.onClose(reason => this.onDrop(t, reason)),
    ];
    this.setState('connected', this.currentEndpoint?.webSocketUrl ?? '');
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const w of waiters) w.resolve(t);
  }

  private ready(): Promise<CdpTransport> {
    if (this.stateValue === 'connected' && this.transport) return Promise.resolve(this.transport);
    if (this.stateValue === 'closed') return Promise.reject(new CdpError('closed', 'connect', this.opts.worker, `${this.opts.worker}: not connected (${this.closeReason})`));
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  private onDrop(t: CdpTransport, reason: string): void {
    if (t !== this.transport || this.stateValue === 'closed') return;
    this.detach();
    this.opts.log?.(`${this.opts.worker}: ${reason}`);
    for (const p of [...this.pending]) {
      if (p.sent) p.fail(new CdpError('disconnected', p.method, this.opts.worker, `${p.method} on ${this.opts.worker} failed: ${reason} (the worker exited or restarted)`));
    }
    if (this.delays.length === 0) { this.closeWith(`${reason}; not reconnecting`); return; }
    this.setState('reconnecting', reason);
    void this.reconnect(reason);
  }

  private async reconnect(reason: string): Promise<void> {
    let last = '';
    for (const delay of this.delays) {
      await sleep(delay, this.life.signal);
      if (this.life.signal.aborted) return;
      try {
        const t = await this.open();
        this.attach(t);
        return;
      } catch (e) {
        last = describeError(e);
      }
    }
    if (this.stateValue !== 'closed') this.closeWith(`${reason}; reconnecting failed: ${last}`);
  }

  private detach(): void {
    for (const s of this.transportSubs) s();
    this.transportSubs = [];
    const t = this.transport;
    this.transport = null;
    if (t) void t.close();
  }

  private closeWith(reason: string): void {
    this.closeReason = reason;
    this.life.abort();
    this.detach();
    this.setState('closed', reason);
    const err = (m: string) => new CdpError('closed', m, this.opts.worker, `${m} on ${this.opts.worker}: the connection is closed (${reason})`);
    for (const p of [...this.pending]) p.fail(err(p.method));
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const w of waiters) w.reject(err('connect'));
  }

  private setState(state: ClientState, detail: string): void {
    this.stateValue = state;
    for (const l of [...this.stateListeners]) { try { l(state, detail); } catch { /* a listener's bug is not ours to spread */ } }
  }

  private wrapError(method: string, e: unknown): CdpError {
    if (e instanceof CdpError) return e;
    const worker = this.opts.worker;
    if (e instanceof CdpProtocolError) {
      const hint = e.response.code === -32601 ? ' (the worker does not have this method: is it a Worker Lens agent, and a recent one?)' : '';
      return new CdpError('protocol', method, worker, `${method} on ${worker} failed: ${e.response.message}${hint}`, e.response.code);
    }
    return new CdpError('disconnected', method, worker, `${method} on ${worker} failed: ${describeError(e)}`);
  }
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${+(ms / 1000).toFixed(1)} s` : `${ms} ms`;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    if (signal.aborted) { resolve(); return; }
    const t = setTimeout(done, ms);
    function done() { clearTimeout(t); signal.removeEventListener('abort', done); resolve(); }
    signal.addEventListener('abort', done, { once: true });
  });
}
