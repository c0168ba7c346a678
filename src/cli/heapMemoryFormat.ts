// The memory part of `workerlens heap` output: verdict, where the RSS is (each figure with how it
// was obtained), growing containers with their paths, and the trim result.
import type { MemoryBreakdown } from '../protocol/agent';
import type { ProcessResult } from '../cdp/processSampler';
import { formatBytes, formatCount } from '../common/format';

export function memoryLines(p: ProcessResult): string[] {
  const out: string[] = [];
  const v = p.verdict;
  out.push(`Verdict: ${v.headline}`, `Next: ${v.next}`);
  for (const d of v.details) out.push(`  · ${d}`);
  const last = p.memory[p.memory.length - 1];
  if (last) {
    out.push(`Where the RSS is (${last.rssBytes !== null ? formatBytes(last.rssBytes) : 'unknown'}, last sample):`);
    const first = p.memory[0];
    for (const part of last.parts) {
      const before = first.parts.find(x => x.key === part.key)?.bytes;
      const delta = p.memory.length > 1 && part.bytes !== null && before != null ? part.bytes - before : null;
      const size = part.bytes !== null ? formatBytes(part.bytes) : 'n/a';
      const change = delta !== null && delta !== 0 ? ` (${delta > 0 ? '+' : ''}${formatBytes(delta)})` : '';
      const how = part.how === 'unavailable' ? `unavailable: ${part.reason ?? ''}` : `${part.how}: ${part.source ?? ''}${part.reason ? `; ${part.reason}` : ''}`;
      out.push(`  ${(size + change).padStart(22)}  ${part.label}  [${how}]`);
    }
  }
  if (p.containers.length) {
    out.push('Growing containers (they hold the growth):');
    p.containers.slice(0, 5).forEach((c, i) => {
      const items = c.itemTypes.length ? ` of ${c.itemTypes.slice(0, 2).join('/')}` : '';
      out.push(`${String(i + 1).padStart(3)}. ${c.name}  ${c.type}${items}${c.tracked ? '' : ' (not gc-tracked)'}  +${formatCount(c.lengthDelta)} items (${formatCount(Math.round(c.itemsPerSecond))}/s)  +${formatBytes(c.bytesDelta)}  now ${formatCount(c.length)} items, ${formatBytes(c.ownedBytes)}`);
    });
  }
  if (p.trim) {
    const t = p.trim;
    out.push(t.reason && !t.trimmed && !t.releasedBytes ? `Trim: not done — ${t.reason}` :
      `Trim (malloc_trim(0), ${t.trimMs.toFixed(1)} ms): RSS ${formatBytes(t.rssBeforeBytes ?? 0)} → ${formatBytes(t.rssAfterBytes ?? 0)}, ${formatBytes(Math.max(0, t.releasedBytes ?? 0))} returned to the OS`);
  }
  return out;
}

function memorySeries(m: MemoryBreakdown[]) {
  return m.map(b => ({ timestamp: b.timestamp, rssBytes: b.rssBytes, parts: Object.fromEntries(b.parts.map(p => [p.key, p.bytes])) }));
}

/** Fields added to the JSON of one process. */
export function memoryJson(p: ProcessResult) {
  const last = p.memory[p.memory.length - 1] ?? null;
  return {
    verdict: p.verdict,
    memory: last ? {
      rssBytes: last.rssBytes, parts: last.parts, process: last.process, malloc: last.malloc, pymalloc: last.pymalloc,
      untracked: last.untracked ? { objects: last.untracked.objects, bytes: last.untracked.bytes, partial: last.untracked.partial, byType: last.untracked.byType.slice(0, 10) } : null,
      series: memorySeries(p.memory),
    } : null,
    containers: p.containers,
    trim: p.trim,
  };
}

export function processJson(p: ProcessResult, live: boolean) {
  return {
    label: p.label, pid: p.pid, role: p.role,
    suspects: p.report.suspects.map(s => ({ type: s.type, count: s.count, delta: s.delta, ratePerSecond: live ? s.ratePerSecond : null, bytesDelta: s.bytesDelta ?? null,
      paths: s.paths.map(x => ({ labels: x.labels, count: x.count, text: x.text })) })),
    ...memoryJson(p), notes: p.notes,
  };
}
