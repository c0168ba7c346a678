// The one way Worker Lens reaches a worker, used by the extension (src/ui/sessions.ts) and the CLI
// (src/cli/heapLive.ts) alike: tell what the pid is (src/model/workerList is the only classifier),
// find or inject the Python agent or find the Node inspector, connect a CdpClient, and read heap
// counts the same way for both kinds (Python: Python.getObjectCounts; Node: a snapshot by class).
import type { DiscoveryFile, GetObjectCountsResult, MemoryBreakdown, ProcessInfo } from '../protocol/agent';
import { processKind, nodeInspectorPort, scriptName } from '../model/workerList';
import { objectCountsOfSnapshot } from '../model/snapshotCounts';
import type { HeapSnapshot } from '../model/heapSnapshot';
import { CdpClient } from './client';
import { CdpError } from './errors';
import { endpointFromDiscovery, readDiscoveryFile as readAnyDiscoveryFile, UntrustedDiscoveryError, workerLabel } from './discovery';
import { resolveConnectTarget } from './endpoint';
import { injectAgent, InjectError } from './inject';
import { captureHeapSnapshot, CaptureOptions } from './heapCapture';
import { nodeMemoryBreakdown } from './nodeMemory';
import { readProcess } from './procScan';
import { ActivationError, activateInspector, inspectorOf } from './inspectorActivate';
import type { CdpEndpoint, Connector } from './transport';

export type WorkerKind = 'python' | 'node';

/**
 * A pid (kind and endpoint found from /proc and the discovery files, unless the caller already
 * knows them from the Workers view), or what a user typed: `HOST:PORT`, `PORT` or a ws:// URL.
 */
export type WorkerTarget =
  | { pid: number; kind?: WorkerKind; discovery?: DiscoveryFile | null; inspectorPort?: number | null; name?: string }
  | { connect: string };

export interface ConnectWorkerOptions {
  signal?: AbortSignal;
  /** One line per step ("injecting the agent…", "connecting…"). */
  progress?: (message: string) => void;
  /** Injecting the agent into a Python process that runs without it. */
  injection: { allowed: boolean; python?: string; agentDir?: string; /** Why it is off and what to do (shown when refused). */ refusedHint: string };
  /** Opening the inspector of a Node process that runs without one (SIGUSR1). */
  activation: { allowed: boolean; /** What to do instead (shown when refused). */ refusedHint?: string };
  /** Reconnect after a drop (re-reading the discovery file / inspector list). Default true. */
  reconnect?: boolean;
  /** CDP trace log. */
  log?: (message: string) => void;
  /** Tests: a FakeTransport connector. */
  connector?: Connector;
  /** How a Node worker's snapshot becomes counts. Default: parsed in this thread (the CLI); the extension host parses in a worker thread. */
  nodeCounts?: NodeCounter;
}

/** Turns the chunks of one snapshot (stream() delivers them) into per-type counts; pauseMs = how long stream() took. */
export type NodeCounter = (stream: (onChunk: (chunk: string) => void) => Promise<void>, signal: AbortSignal | undefined) => Promise<GetObjectCountsResult>;


/** The pid or endpoint cannot be attached to; the message says why and what to do. */
export class AttachError extends Error {
  override name = 'AttachError';
  constructor(readonly code: 'no-process' | 'not-a-worker' | 'no-inspector' | 'port-in-use' | 'bad-target' | 'untrusted-discovery', message: string) {
    super(message);
  }
}

/** A pid's discovery record; a planted or loosely-permitted one is an AttachError that names it. */
async function readDiscoveryFile(pid: number): Promise<DiscoveryFile | null> {
  try { return await readAnyDiscoveryFile(pid); } catch (e) {
    if (e instanceof UntrustedDiscoveryError) throw new AttachError('untrusted-discovery', `pid ${pid}: ${e.message}`);
    throw e;
  }
}

export interface HeapCounts {
  result: GetObjectCountsResult;
  /** Node: the snapshot the counts were read from (the CLI keeps the first and last); Python: null. */
  snapshot: HeapSnapshot | null;
}

export class WorkerConnection {
  constructor(
    readonly kind: WorkerKind,
    readonly client: CdpClient,
    /** The agent's process info (Python only; null when it could not be read). */
    readonly info: ProcessInfo | null,
    readonly discovery: DiscoveryFile | null,
    /** "main (pid 4242)", "ForkPoolWorker-1 (pid 4243)", "node worker.js (pid 99)", "127.0.0.1:9229". */
    readonly label: string,
    readonly pid: number | null,
    private readonly fallbackUrl: string,
    private readonly nodeCounts?: NodeCounter,
  ) {}

  /** ws:// URL (an agent's carries its token) to paste into chrome-remote-interface or DevTools. */
  endpointUrl(): string {
    return this.discovery ? endpointFromDiscovery(this.discovery).webSocketUrl : this.client.endpoint?.webSocketUrl ?? this.fallbackUrl;
  }

  /** A `.heapsnapshot` of the worker as text chunks, unparsed (to a file, or to a heap worker thread). */
  streamSnapshot(opts: { signal?: AbortSignal; onChunk: (chunk: string) => void; onProgress?: (done: number, total: number) => void }): Promise<void> {
    return this.client.heapProfiler.takeHeapSnapshot(opts);
  }

  /** A `.heapsnapshot` of the worker, parsed in this thread (chunks also go to opts.onChunk). */
  snapshot(opts: CaptureOptions = {}): Promise<HeapSnapshot> {
    return captureHeapSnapshot(this.client, opts);
  }

  /** Per-type counts. V8 has no cheap per-type count: for Node each call is a full heap snapshot. */
  async heapCounts(opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<HeapCounts> {
    if (this.kind === 'python') return { result: await this.client.python.getObjectCounts({}, opts), snapshot: null };
    if (this.nodeCounts) {
      // The counter measures the pause itself (from the request to V8's reply), without its parse.
      return { result: await this.nodeCounts(onChunk => this.streamSnapshot({ signal: opts.signal, onChunk }), opts.signal), snapshot: null };
    }
    const t0 = Date.now();
    const snapshot = await this.snapshot({ signal: opts.signal });
    return { result: objectCountsOfSnapshot(snapshot, Date.now() - t0), snapshot };
  }

  /** Where the RSS is: the agent's Python.getMemoryBreakdown (untracked: also walk untracked objects), or process.memoryUsage() for Node. */
  memoryBreakdown(opts: { signal?: AbortSignal; untracked?: boolean } = {}): Promise<MemoryBreakdown> {
    if (this.kind === 'python') return this.client.python.getMemoryBreakdown({ untracked: opts.untracked ?? false }, { signal: opts.signal, timeoutMs: 60_000 });
    return nodeMemoryBreakdown(this.client, opts.signal);
  }

  dispose(): void {
    this.client.dispose();
  }
}

/** Connects to a worker. Rejects with AttachError, InjectError (injection failed or refused) or CdpError. */
export async function connectWorker(target: WorkerTarget, opts: ConnectWorkerOptions): Promise<WorkerConnection> {
  if ('connect' in target) return connectSpec(target.connect, opts);
  let { kind, discovery = null, inspectorPort = null, name } = target;
  const pid = target.pid;
  if (!kind) {
    discovery ??= await readDiscoveryFile(pid);
    if (discovery) kind = 'python';
    else {
      const p = await readProcess(pid);
      if (!p) throw new AttachError('no-process', `no process with pid ${pid}`);
      const k = processKind(p);
      if (!k) throw new AttachError('not-a-worker', `pid ${pid} (${p.argv.join(' ').slice(0, 60) || 'unknown'}) is not a Python worker`);
      kind = k;
      if (k === 'node') {
        inspectorPort = nodeInspectorPort(p);
        name = baseName(scriptName(p) ?? 'node');
      }
    }
  }
  if (kind === 'python') return connectPython(pid, discovery, opts);
  if (inspectorPort !== null) return connectNode(pid, inspectorPort, name ?? 'node', opts);
  return connectActivated(pid, name, opts);
}

function baseName(file: string): string {
  return file.slice(file.lastIndexOf('/') + 1);
}

/** A Node process without an inspector on its command line: open one (SIGUSR1), then connect. */
async function connectActivated(pid: number, name: string | undefined, opts: ConnectWorkerOptions): Promise<WorkerConnection> {
  const p = await readProcess(pid);
  if (!p) throw new AttachError('no-process', `no process with pid ${pid}`);
  const label = name ?? baseName(scriptName(p) ?? 'node');
  let endpoint = await inspectorOf(pid);
  if (!endpoint) {
    if (!opts.activation.allowed) {
      throw new AttachError('no-inspector', `pid ${pid} is a Node process without an open inspector: start it with --inspect=127.0.0.1:PORT${opts.activation.refusedHint ? `, or ${opts.activation.refusedHint}` : ''}`);
    }
    if (pid === process.pid) throw new AttachError('not-a-worker', `pid ${pid} is this process`);
    opts.progress?.(`opening the inspector of pid ${pid} (SIGUSR1)…`);
    try { endpoint = await activateInspector(p, { signal: opts.signal }); } catch (e) {
      if (e instanceof ActivationError) throw new AttachError(e.code === 'port-in-use' ? 'port-in-use' : 'no-inspector', e.message);
      throw e;
    }
  }
  const found = endpoint;
  opts.progress?.('connecting…');
  const client = await CdpClient.connect({
    worker: `node pid ${pid}`,
    // After a drop, look again at the ports the process holds (the inspector may come back elsewhere).
    locate: async () => (await inspectorOf(pid)) ?? found,
    connector: opts.connector, log: opts.log, reconnectDelaysMs: opts.reconnect === false ? false : undefined,
  }, opts.signal);
  return new WorkerConnection('node', client, null, null, `node ${label} (pid ${pid})`, pid, found.webSocketUrl, opts.nodeCounts);
}

async function connectPython(pid: number, known: DiscoveryFile | null, opts: ConnectWorkerOptions): Promise<WorkerConnection> {
  let discovery = known ?? await readDiscoveryFile(pid);
  if (!discovery) {
    if (!opts.injection.allowed) throw new InjectError('injection-off', `pid ${pid} runs no Worker Lens agent`, opts.injection.refusedHint);
    opts.progress?.(`injecting the Worker Lens agent into pid ${pid} (ptrace)…`);
    discovery = await injectAgent({ pid, python: opts.injection.python, agentDir: opts.injection.agentDir, signal: opts.signal, onProgress: opts.progress });
  }
  opts.progress?.('connecting…');
  const d = discovery;
  const client = await CdpClient.connect({
    worker: workerLabel(d),
    // After a drop, the agent may have restarted on another port: re-read the discovery file.
    locate: async () => {
      const now = await readDiscoveryFile(d.pid);
      if (!now) throw new Error(`pid ${d.pid} has no running agent any more`);
      return endpointFromDiscovery(now);
    },
    connector: opts.connector, log: opts.log, reconnectDelaysMs: opts.reconnect === false ? false : undefined,
  }, opts.signal);
  let info: ProcessInfo | null = null;
  try { info = await client.python.getProcessInfo({ signal: opts.signal, timeoutMs: 5000 }); } catch (e) {
    if (opts.signal?.aborted) { client.dispose(); throw e; }
    opts.log?.(`getProcessInfo on ${workerLabel(d)}: ${(e as Error).message}`);
  }
  const label = `${info?.processName === 'MainProcess' || d.role === 'main' ? 'main' : d.processName} (pid ${d.pid})`;
  return new WorkerConnection('python', client, info, d, label, d.pid, endpointFromDiscovery(d).webSocketUrl);
}

async function connectNode(pid: number, port: number, name: string, opts: ConnectWorkerOptions): Promise<WorkerConnection> {
  const spec = `127.0.0.1:${port}`;
  let first: CdpEndpoint | null;
  try { first = await resolveConnectTarget(spec, opts.signal); } catch (e) {
    throw new AttachError('no-inspector', `pid ${pid} is a Node process with --inspect, but ${(e as Error).message}`);
  }
  opts.progress?.('connecting…');
  const client = await CdpClient.connect({
    worker: `node pid ${pid}`,
    // The inspector's target id changes when it restarts: list the targets again after a drop.
    locate: async s => { const e = first ?? await resolveConnectTarget(spec, s); first = null; return e; },
    connector: opts.connector, log: opts.log, reconnectDelaysMs: opts.reconnect === false ? false : undefined,
  }, opts.signal);
  return new WorkerConnection('node', client, null, null, `node ${name} (pid ${pid})`, pid, spec, opts.nodeCounts);
}

/** `--connect`: the agent or a V8 inspector, told apart by whether the Python domain answers. */
async function connectSpec(spec: string, opts: ConnectWorkerOptions): Promise<WorkerConnection> {
  let endpoint: CdpEndpoint;
  try { endpoint = await resolveConnectTarget(spec, opts.signal); } catch (e) { throw new AttachError('bad-target', (e as Error).message); }
  const client = await CdpClient.connect({
    worker: endpoint.label, locate: async () => endpoint,
    connector: opts.connector, log: opts.log, reconnectDelaysMs: opts.reconnect === false ? false : undefined,
  }, opts.signal);
  try {
    const info = await client.python.getProcessInfo({ signal: opts.signal, timeoutMs: 5000 });
    return new WorkerConnection('python', client, info, null, workerLabel(info), info.pid, endpoint.webSocketUrl);
  } catch (e) {
    if (!(e instanceof CdpError && e.kind === 'protocol')) { client.dispose(); throw e; }
    return new WorkerConnection('node', client, null, null, endpoint.label, null, endpoint.webSocketUrl, opts.nodeCounts); // V8: no Python domain
  }
}
