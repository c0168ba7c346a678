// The verdict in words, with the next step, from a series of memory breakdowns plus the growth
// suspects (types and containers). Pure: the CLI (`workerlens heap`) and the Heap view share it.
import type { MallocStats, MemoryPart, MemoryPartKey, ProcessMemory, TrimMemoryResult } from '../protocol/agent';
import type { ContainerSuspect } from './containerGrowth';
import { formatBytes, formatCount } from '../common/format';

export interface MemorySample {
  timestamp: number;        // seconds
  rssBytes: number | null;
  parts: readonly MemoryPart[];
  malloc?: MallocStats | null;
  process?: ProcessMemory | null;
}

export interface TypeGrowth {
  type: string;
  delta: number;
  ratePerSecond: number | null;
  builtin: boolean;
  bytesDelta?: number | null;
}

export type VerdictKind = 'container' | 'objects' | 'native' | 'fragmentation' | 'rss' | 'quiet' | 'one-sample' | 'unknown';

export interface Verdict {
  kind: VerdictKind;
  /** One sentence: what is where ("612 MB of 718 MB is free memory held by malloc …"). */
  headline: string;
  /** What to do next. */
  next: string;
  /** Other findings worth a line (fragmentation beside a leak, the trim result, shared/private split). */
  details: string[];
}

export interface VerdictInput {
  samples: readonly MemorySample[];
  types?: readonly TypeGrowth[];
  containers?: readonly ContainerSuspect[];
  runtime?: 'python' | 'node';
  /** 'child': a prefork child, whose shared pages are the parent's not yet copied. */
  role?: 'main' | 'child' | 'process' | null;
  trim?: TrimMemoryResult | null;
}

const MB = 1024 * 1024;

export function partBytes(s: MemorySample, key: MemoryPartKey): number | null {
  const p = s.parts.find(x => x.key === key);
  return p && p.how !== 'unavailable' ? p.bytes : null;
}

/** Growth of a series that rose in at least half the intervals and kept most of it; null otherwise. */
export function sustainedDelta(values: readonly (number | null)[]): number | null {
  const v = values.filter((x): x is number => x !== null);
  if (v.length < 2) return null;
  const delta = v[v.length - 1] - v[0];
  if (delta <= 0) return null;
  let ups = 0, peak = v[0];
  for (let i = 1; i < v.length; i++) { if (v[i] > v[i - 1]) ups++; peak = Math.max(peak, v[i]); }
  if (v.length >= 3 && ups / (v.length - 1) < 0.5) return null;
  if (v[v.length - 1] < peak - 0.5 * (peak - v[0])) return null;
  return delta;
}

/** Growth that matters: at least 8 MB and 5 % of the first RSS. */
export function materialBytes(delta: number | null, rss: number | null): boolean {
  return delta !== null && delta >= Math.max(8 * MB, 0.05 * (rss ?? 0));
}

function mb(n: number): string { return formatBytes(Math.round(n)); }
function rate(bytes: number, seconds: number): string {
  return seconds > 0 ? `${formatBytes(Math.round(bytes / seconds))}/s` : `+${formatBytes(Math.round(bytes))}`;
}

export function memoryVerdict(input: VerdictInput): Verdict {
  const samples = input.samples;
  const node = input.runtime === 'node';
  const details: string[] = [];
  if (samples.length === 0) return { kind: 'unknown', headline: 'No memory figures from this worker.', next: 'Check that its agent answers (workerlens heap --pid PID).', details };
  const first = samples[0];
  const last = samples[samples.length - 1];
  const seconds = last.timestamp - first.timestamp;
  const rss = last.rssBytes;

  // fragmentation / free memory malloc holds: a fact at any sample count
  const free = partBytes(last, 'mallocFree');
  let fragmentation: string | null = null;
  if (free !== null && rss && free >= 64 * MB && free >= 0.3 * rss) {
    const arenas = last.malloc?.arenas;
    fragmentation = `${mb(free)} of ${mb(rss)} is free memory held by malloc (fragmentation${arenas ? `, ${arenas} arena${arenas === 1 ? '' : 's'}` : ''})`;
  }
  if (input.trim) {
    const t = input.trim;
    details.push(t.trimmed || (t.releasedBytes ?? 0) > 0
      ? `Trim now (malloc_trim) returned ${mb(Math.max(0, t.releasedBytes ?? 0))}: RSS ${mb(t.rssBeforeBytes ?? 0)} → ${mb(t.rssAfterBytes ?? 0)} in ${t.trimMs.toFixed(1)} ms.`
      : `Trim now did nothing: ${t.reason ?? 'malloc had nothing to return'}.`);
  }
  const proc = last.process;
  if (input.role === 'child' && proc?.sharedBytes != null && proc.privateBytes != null && proc.sharedBytes > 0) {
    details.push(`${mb(proc.privateBytes)} private, ${mb(proc.sharedBytes)} shared with other processes (prefork parent pages not yet copied).`);
  }

  if (samples.length === 1) {
    const largest = [...last.parts].filter(p => p.bytes !== null).sort((a, b) => (b.bytes ?? 0) - (a.bytes ?? 0))[0];
    if (fragmentation) return { kind: 'fragmentation', headline: `${fragmentation}.`, next: fragmentationNext(), details };
    return {
      kind: 'one-sample', details,
      headline: `RSS ${rss !== null ? mb(rss) : 'unknown'}${largest ? `; the largest part is ${largest.label} (${mb(largest.bytes ?? 0)}, ${largest.how})` : ''}.`,
      next: 'Take more samples (--samples 3 or more) to see what grows.',
    };
  }

  const containers = (input.containers ?? []).filter(c => c.bytesDelta > 0);
  const types = (input.types ?? []).filter(t => t.delta > 0);
  const userTypes = types.filter(t => !t.builtin);
  const nativeDelta = sustainedDelta(samples.map(s => partBytes(s, 'nativeOther')));
  const rssDelta = sustainedDelta(samples.map(s => s.rssBytes));
  const nativeGrows = materialBytes(nativeDelta, first.rssBytes);
  if (fragmentation) details.push(`${fragmentation}: try MALLOC_ARENA_MAX=2 or jemalloc; Trim now to measure.`);

  // native growth that dwarfs what Python objects gained is the story, whatever else grows a little
  const pythonBytes = containers.reduce((a, c) => a + c.bytesDelta, 0) + types.reduce((a, t) => a + Math.max(0, t.bytesDelta ?? 0), 0);
  if (nativeGrows && nativeDelta !== null && pythonBytes < 0.1 * nativeDelta) {
    const also = [...containers.slice(0, 2).map(c => `${c.name} +${mb(c.bytesDelta)}`), ...types.slice(0, 2).map(t => `${t.type} +${formatCount(t.delta)}`)];
    const extra = also.length ? [`Python objects grow far less: ${also.join(', ')}.`] : [];
    return node
      ? { kind: 'native', details: [...extra, ...details], headline: `Native memory outside the JS heap grows ${rate(nativeDelta, seconds)} and no JS type explains it.`, next: 'Look at Buffers kept outside the heap, native addons and their caches.' }
      : { kind: 'native', details: [...extra, ...details], headline: `Native memory grows ${rate(nativeDelta, seconds)} and no Python type explains it: a C extension or ctypes allocation.`, next: 'Check C extensions (their caches, buffers) and ctypes/cffi memory that is never freed; Python object counts will not show it.' };
  }
  if (containers.length > 0) {
    const c = containers[0];
    const what = `${c.type}${c.itemTypes.length ? ` of ${c.itemTypes.slice(0, 2).join('/')}` : ''}`;
    const others = containers.slice(1, 3).map(o => o.name);
    return {
      kind: 'container', details: [
        ...(c.tracked ? [] : [`${c.name} is a dict the gc does not track (only str/int/… inside): object counts cannot see it.`]),
        ...(others.length ? [`Also growing: ${others.join(', ')}.`] : []),
        ...(nativeGrows && nativeDelta !== null ? [`Native memory grows too: ${rate(nativeDelta, seconds)}.`] : []),
        ...details],
      headline: `${c.name} (${what}) grows by ${formatCount(Math.round(c.itemsPerSecond))} items/s, ${rate(c.bytesDelta, seconds)} (${formatCount(c.length)} items, ${mb(c.ownedBytes)} now).`,
      next: `Find the code that adds to ${c.name} and bound it (an LRU or TTL cache, or clear it per task).`,
    };
  }
  if (userTypes.length > 0 || (types.length > 0 && !nativeGrows)) {
    const t = userTypes[0] ?? types[0];
    return {
      kind: 'objects', details: [...(nativeGrows && nativeDelta !== null ? [`Native memory grows too: ${rate(nativeDelta, seconds)}.`] : []), ...details],
      headline: `${t.type} objects grow by ${formatCount(Math.round(t.ratePerSecond ?? 0))}/s (+${formatCount(t.delta)} over ${seconds.toFixed(0)} s${t.bytesDelta ? `, +${mb(t.bytesDelta)}` : ''}).`,
      next: `Follow the retainer path of ${t.type} to the code that keeps them (Show Retainers, or the paths below).`,
    };
  }
  if (nativeGrows && nativeDelta !== null) {
    return node
      ? { kind: 'native', details, headline: `Native memory outside the JS heap grows ${rate(nativeDelta, seconds)} and no JS type grows.`, next: 'Look at Buffers kept outside the heap, native addons and their caches.' }
      : { kind: 'native', details, headline: `Native memory grows ${rate(nativeDelta, seconds)} and no Python type grows: a C extension or ctypes allocation.`, next: 'Check C extensions (their caches, buffers) and ctypes/cffi memory that is never freed; Python object counts will not show it.' };
  }
  const freeDelta = sustainedDelta(samples.map(s => partBytes(s, 'mallocFree')));
  if (materialBytes(freeDelta, first.rssBytes) && freeDelta !== null) {
    return { kind: 'fragmentation', details: details.filter(d => !d.startsWith(fragmentation ?? '\0')),
      headline: `Free memory held by malloc grows ${rate(freeDelta, seconds)}${fragmentation ? `; ${fragmentation}` : ''}: fragmentation, not a leak of live objects.`,
      next: fragmentationNext() };
  }
  if (fragmentation) {
    return { kind: 'fragmentation', details: details.filter(d => !d.startsWith(fragmentation as string)), headline: `${fragmentation}; nothing grows.`, next: fragmentationNext() };
  }
  if (materialBytes(rssDelta, first.rssBytes) && rssDelta !== null) {
    const grew = largestGrowingPart(first, last);
    return { kind: 'rss', details, headline: `RSS grows ${rate(rssDelta, seconds)}${grew ? `, mostly ${grew.label} (+${mb(grew.delta)})` : ''}, but no type or container grows steadily.`, next: 'Take more samples over a longer time (--samples, --interval) to separate a trend from noise.' };
  }
  return {
    kind: 'quiet', details,
    headline: `Nothing grows: RSS ${rss !== null ? mb(rss) : 'unknown'} steady over ${seconds.toFixed(0)} s (${samples.length} samples).`,
    next: 'If the worker grows in production, sample it while it runs tasks, or over a longer interval.',
  };
}

function fragmentationNext(): string {
  return 'Try MALLOC_ARENA_MAX=2 (fewer thread arenas) or jemalloc (LD_PRELOAD); Trim now to measure what comes back.';
}

function largestGrowingPart(first: MemorySample, last: MemorySample): { label: string; delta: number } | null {
  let best: { label: string; delta: number } | null = null;
  for (const p of last.parts) {
    const a = partBytes(first, p.key), b = partBytes(last, p.key);
    if (a === null || b === null) continue;
    if (!best || b - a > best.delta) best = { label: p.label, delta: b - a };
  }
  return best && best.delta > 0 ? best : null;
}

/** A prefork main and its pool children: where the leak is, in one sentence. */
export interface ProcessVerdict { label: string; pid: number; role: 'main' | 'child' | 'process'; verdict: Verdict }

/** A verdict that says something grows (as opposed to quiet / fragmentation / not enough samples). */
export function verdictGrows(v: Verdict): boolean {
  return v.kind === 'container' || v.kind === 'objects' || v.kind === 'native' || v.kind === 'rss';
}

/** The pool children whose verdict says they grow, in the order given. */
export function leakingChildren<T extends ProcessVerdict>(procs: readonly T[]): T[] {
  return procs.filter(p => p.role === 'child' && verdictGrows(p.verdict));
}

export function preforkSummary(procs: readonly ProcessVerdict[]): string | null {
  const main = procs.find(p => p.role === 'main');
  const children = procs.filter(p => p.role === 'child');
  if (!main || children.length === 0) return null;
  const growing = verdictGrows;
  const leaking = leakingChildren(children);
  const mainFlat = !growing(main.verdict);
  if (leaking.length === 0) return `No pool child grows (${children.length} checked)${mainFlat ? '; the main process is flat too' : `; the main process does: ${main.verdict.headline}`}.`;
  const names = leaking.map(c => c.label).join(', ');
  return `The leak is in ${leaking.length === children.length && children.length > 1 ? 'every pool child' : `pool child${leaking.length > 1 ? 'ren' : ''}`} ${names}: ${leaking[0].verdict.headline}${mainFlat ? ' The main process is flat (no task runs there).' : ''}`;
}
