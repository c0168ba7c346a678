// The Heap view's header: where the worker's RSS is (each part with how it was obtained), the
// verdict in words with the next step (src/model/memoryVerdict.ts, shared with the CLI), growing
// containers with their paths, and "Trim now". The untracked walk (str/bytes reached from
// containers) runs at its own cadence: at least every 5th refresh and at most 2 % of wall time.
import * as vscode from 'vscode';
import type { MemoryBreakdown, TrimMemoryResult } from '../protocol/agent';
import type { CountSample as ViewSample } from './heapView';
import { findGrowthSuspects } from '../model/growth';
import { ContainerSample, findGrowingContainers, ContainerSuspect } from '../model/containerGrowth';
import { memoryVerdict, MemorySample, TypeGrowth, Verdict } from '../model/memoryVerdict';
import { formatBytes, formatCount } from '../common/format';
import { untrackedSpacing } from '../model/refreshBudget';
import { workerSharePercent } from './workerShare';

/** What a Heap view source offers for memory (python sessions: the agent; node: process.memoryUsage()). */
export interface MemorySource {
  readonly label: string;
  readonly kind?: 'python' | 'node';
  readonly role?: 'main' | 'child' | 'process' | null;
  getMemoryBreakdown?(signal: AbortSignal, untracked: boolean): Promise<MemoryBreakdown>;
  trimMemory?(): Promise<TrimMemoryResult>;
}

import type { MemoryNode } from '../protocol/heapView';
export type { MemoryNode } from '../protocol/heapView';

const WINDOW = 15;
const MIN_UNTRACKED_EVERY = 5;

export class MemoryHeader {
  private samples: MemorySample[] = [];
  private containerSamples: ContainerSample[] = [];
  private last: MemoryBreakdown | null = null;
  private containers: ContainerSuspect[] = [];
  private verdict: Verdict | null = null;
  private trimResult: TrimMemoryResult | null = null;
  private error: string | undefined;
  private refreshes = 0;
  private nextUntrackedAt = 0;
  private untrackedCostMs = 0;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  reset(): void {
    this.samples = []; this.containerSamples = []; this.last = null; this.containers = []; this.verdict = null;
    this.trimResult = null; this.error = undefined; this.refreshes = 0; this.nextUntrackedAt = 0; this.untrackedCostMs = 0; this.types = [];
  }

  /** What the last breakdown cost the worker, the untracked walk left out (it has its own spacing). */
  get lastCostMs(): number {
    const c = this.last?.costMs;
    return c ? Math.max(0, (c.total ?? 0) - (c.untracked ?? 0)) : 0;
  }

  get hasData(): boolean { return this.last !== null || this.error !== undefined; }
  get currentVerdict(): Verdict | null { return this.verdict; }

  async refresh(source: MemorySource, signal: AbortSignal, counts: readonly ViewSample[]): Promise<void> {
    if (!source.getMemoryBreakdown) return;
    const untracked = source.kind !== 'node' && this.refreshes >= this.nextUntrackedAt;
    this.refreshes++;
    try {
      const b = await source.getMemoryBreakdown(signal, untracked);
      this.last = b;
      this.samples.push({ timestamp: b.timestamp, rssBytes: b.rssBytes, parts: b.parts, malloc: b.malloc, process: b.process });
      if (this.samples.length > WINDOW) this.samples.shift();
      if (b.untracked) {
        this.containerSamples.push({ timestamp: b.timestamp, containers: b.untracked.containers });
        if (this.containerSamples.length > 6) this.containerSamples.shift();
        this.untrackedCostMs = b.costMs.untracked;
        const intervalMs = counts.length > 1 ? (counts[counts.length - 1].timestamp - counts[counts.length - 2].timestamp) * 1000 : 2000;
        const every = Math.max(MIN_UNTRACKED_EVERY, Math.ceil((b.costMs.untracked * untrackedSpacing(workerSharePercent())) / Math.max(500, intervalMs)));
        this.nextUntrackedAt = this.refreshes + every - 1;
      }
      this.error = undefined;
    } catch (e) {
      if (signal.aborted) return;
      this.error = (e as Error).message;
      this.log.warn(`Heap: memory breakdown of ${source.label} failed: ${this.error}`);
      return;
    }
    this.containers = findGrowingContainers(this.containerSamples);
    const recent = counts.slice(-WINDOW).map(s => ({
      timestamp: s.timestamp,
      counts: new Map([...s.counts].map(([k, c]) => [k, c.count])),
      sizes: new Map([...s.counts].map(([k, c]) => [k, c.size])),
    }));
    const types = findGrowthSuspects(recent).map(g => ({ type: g.type, delta: g.delta, ratePerSecond: g.ratePerSecond, builtin: g.builtin, bytesDelta: g.bytesDelta }));
    this.types = types;
    this.recompute(source);
  }

  private types: TypeGrowth[] = [];

  private recompute(source: MemorySource): void {
    this.verdict = memoryVerdict({ samples: this.samples, containers: this.containers, types: this.types, runtime: source.kind === 'node' ? 'node' : 'python', role: source.role ?? null, trim: this.trimResult });
    if (source.role === 'main') {
      // a prefork main runs no task: its flat memory says nothing about the children
      this.verdict.details.unshift('This is the main process: tasks run in its pool children. The Pool Memory view (or `workerlens heap --pid MAIN`) samples them beside it and names the one that leaks.');
    }
  }

  async trim(source: MemorySource): Promise<TrimMemoryResult> {
    if (!source.trimMemory) throw new Error(`${source.label}: Trim now needs a Python worker's agent (glibc malloc_trim)`);
    const r = await source.trimMemory();
    this.trimResult = r;
    if (this.verdict) this.recompute(source);
    return r;
  }

  /** The header row (collapsed children: verdict, next step, parts, containers), or null without data. */
  root(): MemoryNode | null {
    if (this.error && !this.last) return { kind: 'memory', id: 'mem-root', label: 'Memory', description: `breakdown unavailable: ${this.error}`, icon: 'warning' };
    const b = this.last;
    if (!b) return null;
    const v = this.verdict;
    const children: MemoryNode[] = [];
    if (v) {
      children.push({ kind: 'memory', id: 'mem-verdict', label: v.headline, icon: verdictIcon(v.kind), color: verdictColor(v.kind), tooltip: `${v.headline}\n\nNext: ${v.next}` });
      children.push({ kind: 'memory', id: 'mem-next', label: `Next: ${v.next}`, icon: 'lightbulb', tooltip: v.next });
      v.details.forEach((d, i) => children.push({ kind: 'memory', id: `mem-detail-${i}`, label: d, icon: 'info', tooltip: d }));
    }
    for (const p of b.parts) {
      const share = b.rssBytes && p.bytes !== null ? ` · ${Math.round((100 * p.bytes) / b.rssBytes)} %` : '';
      // the figure first: the sidebar is narrow and the label is long
      children.push({
        kind: 'memory', id: `mem-part-${p.key}`, label: `${p.bytes !== null ? formatBytes(p.bytes) : 'n/a'}  ${p.label}`,
        description: `${p.how}${share}`,
        icon: p.how === 'exact' ? 'pass' : p.how === 'estimated' ? 'circle-large-outline' : 'circle-slash',
        tooltip: `${p.label}: ${p.bytes !== null ? formatBytes(p.bytes) : 'unavailable'} (${p.how})\n${p.source ? `From: ${p.source}` : ''}${p.reason ? `\n${p.reason}` : ''}`,
      });
    }
    for (const c of this.containers.slice(0, 3)) {
      children.push({
        kind: 'memory', id: `mem-container-${c.key}`, label: c.name, icon: 'arrow-up', color: 'charts.red',
        description: `${c.type}${c.itemTypes.length ? ` of ${c.itemTypes.slice(0, 2).join('/')}` : ''} · +${formatCount(c.lengthDelta)} items · +${formatBytes(c.bytesDelta)}`,
        tooltip: `${c.name}: ${formatCount(c.length)} items, ${formatBytes(c.ownedBytes)} (estimated: shallow + items it holds)${c.tracked ? '' : '\nNot tracked by the gc: object counts cannot see it.'}`,
      });
    }
    const u = b.untracked;
    const walked = this.containerSamples.length ? ` · untracked walk ${this.untrackedCostMs.toFixed(0)} ms, every ≥ ${MIN_UNTRACKED_EVERY} refreshes` : '';
    return {
      kind: 'memory', id: 'mem-root', label: `Memory: RSS ${b.rssBytes !== null ? formatBytes(b.rssBytes) : 'n/a'}`,
      description: v ? v.headline : undefined, icon: v ? verdictIcon(v.kind) : 'graph', color: v ? verdictColor(v.kind) : undefined,
      tooltip: `${v ? `${v.headline}\nNext: ${v.next}\n\n` : ''}${b.parts.map(p => `${p.label}: ${p.bytes !== null ? formatBytes(p.bytes) : 'n/a'} (${p.how})`).join('\n')}${u ? `\n\n${formatCount(u.objects)} untracked objects${u.partial ? ' (walk stopped at its limit)' : ''}` : ''}${walked}`,
      children, contextValue: this.canTrim ? 'heapMemory.trim' : 'heapMemory',
    };
  }

  private get canTrim(): boolean { return this.last?.malloc?.how === 'exact' || this.last?.malloc?.how === 'estimated'; }

}

function verdictIcon(kind: Verdict['kind']): string {
  return kind === 'quiet' ? 'check' : kind === 'one-sample' || kind === 'unknown' ? 'graph' : 'warning';
}
function verdictColor(kind: Verdict['kind']): string | undefined {
  return kind === 'quiet' ? 'charts.green' : kind === 'one-sample' || kind === 'unknown' ? undefined : 'charts.orange';
}
