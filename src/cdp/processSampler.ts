// One process's samples, shared by `workerlens heap --pid/--connect` and the UI's Pool Memory view:
// counts + the memory breakdown (with the untracked walk) N times, then the leak report, the
// growing containers and the verdict. samplePool (poolSampler.ts) runs several side by side.
import { CdpError } from './errors';
import type { WorkerConnection } from './workerConnection';
import type { MemoryBreakdown, ProcessRole, TrimMemoryResult } from '../protocol/agent';
import type { HeapSnapshot } from '../model/heapSnapshot';
import { buildLeakReport, HeapAnalysis, LeakReport } from '../model/leakReport';
import { CountSample, isBuiltinType } from '../model/growth';
import { ContainerSample, ContainerSuspect, findGrowingContainers } from '../model/containerGrowth';
import { memoryVerdict, MemorySample, Verdict } from '../model/memoryVerdict';

/** Modules whose types belong to the interpreter and its C helpers, not to the program (ranked after program types). */
export const INTERPRETER_MODULES = new Set(['builtins', 'weakref', '_weakref', '_weakrefset', 'abc', '_abc', 'types', 'collections', '_collections', '_io', 'io', 're', '_sre', 'functools', '_functools', 'typing']);

export interface ProcessTarget {
  conn: WorkerConnection;
  label: string;
}

export interface ProcessResult {
  label: string;
  pid: number | null;
  role: ProcessRole | null;
  report: LeakReport;
  /** Breakdowns, first to last (empty when the worker's agent predates Python.getMemoryBreakdown). */
  memory: MemoryBreakdown[];
  containers: ContainerSuspect[];
  verdict: Verdict;
  trim: TrimMemoryResult | null;
  notes: string[];
}

export class ProcessSampler {
  private readonly samples: CountSample[] = [];
  private readonly memory: MemoryBreakdown[] = [];
  private readonly containerSamples: ContainerSample[] = [];
  private readonly builtinTypes = new Set<string>();
  private readonly notes: string[] = [];
  private first: HeapSnapshot | undefined;
  private last: HeapSnapshot | undefined;
  private breakdownMissing = false;

  constructor(readonly target: ProcessTarget) {}

  async sample(index: number): Promise<void> {
    const { conn } = this.target;
    const { result, snapshot } = await conn.heapCounts({ timeoutMs: 30_000 });
    const counts = new Map<string, number>();
    const sizes = new Map<string, number>();
    for (const c of result.counts) {
      counts.set(c.type, (counts.get(c.type) ?? 0) + c.count);
      sizes.set(c.type, (sizes.get(c.type) ?? 0) + c.size);
      if (conn.kind === 'python' && INTERPRETER_MODULES.has(c.module)) this.builtinTypes.add(c.type);
    }
    // Node sizes come from the snapshot's self sizes: bytes are material there too
    this.samples.push({ timestamp: Date.now() / 1000, counts, sizes });
    if (snapshot) {
      if (index === 0) this.first = snapshot;
      this.last = snapshot;
    }
    await this.breakdown(() => conn.memoryBreakdown({ untracked: true }));
  }

  private async breakdown(get: () => Promise<MemoryBreakdown>): Promise<void> {
    if (this.breakdownMissing) return;
    try {
      const b = await get();
      this.memory.push(b);
      if (b.untracked) this.containerSamples.push({ timestamp: b.timestamp, containers: b.untracked.containers });
    } catch (e) {
      if (!(e instanceof CdpError && e.kind === 'protocol')) throw e;
      this.breakdownMissing = true; // an older agent: counts still work
      this.notes.push(`no memory breakdown: ${e.message}`);
    }
  }

  async finish(opts: { top: number; trim: boolean; paths: boolean }): Promise<ProcessResult> {
    const { conn } = this.target;
    const python = conn.kind === 'python';
    let trim: TrimMemoryResult | null = null;
    if (opts.trim) {
      if (!python) this.notes.push('--trim: Node workers have no malloc_trim through the inspector');
      else {
        try { trim = await conn.client.python.trimMemory({ timeoutMs: 60_000 }); } catch (e) {
          if (!(e instanceof CdpError && e.kind === 'protocol')) throw e;
          this.notes.push(`--trim: ${e.message}`);
        }
      }
    }
    const builtin = (t: string) => this.builtinTypes.has(t) || isBuiltinType(t);
    const containers = findGrowingContainers(this.containerSamples);
    // paths from a snapshot only where a type grows (or with one sample, to show the largest types)
    const preview = buildLeakReport({ samples: this.samples, maxSuspects: opts.top, growth: { isBuiltin: builtin } });
    if (python && opts.paths && (preview.suspects.length > 0 || this.samples.length === 1)) {
      try {
        this.last = await conn.snapshot();
      } catch (e) {
        if (!(e instanceof CdpError && e.kind === 'protocol')) throw e;
        this.notes.push(`no retainer paths: ${e.message}`);
      }
    }
    const analysis = this.last ? new HeapAnalysis(this.last) : undefined;
    const report = buildLeakReport({ samples: this.samples, last: analysis, first: this.first !== this.last ? this.first : undefined,
      maxSuspects: opts.top, growth: { isBuiltin: builtin } });
    const memSamples: MemorySample[] = this.memory.map(b => ({ timestamp: b.timestamp, rssBytes: b.rssBytes, parts: b.parts, malloc: b.malloc, process: b.process }));
    const verdict = memoryVerdict({
      samples: memSamples, containers, runtime: python ? 'python' : 'node', trim, role: conn.info?.role ?? null,
      types: report.samples > 1 ? report.suspects.map(s => ({ type: s.type, delta: s.delta ?? 0, ratePerSecond: s.ratePerSecond, builtin: s.builtin, bytesDelta: s.bytesDelta ?? null })) : [],
    });
    return { label: this.target.label, pid: conn.pid, role: conn.info?.role ?? null, report, memory: this.memory, containers, verdict, trim, notes: this.notes };
  }
}
