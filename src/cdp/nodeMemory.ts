// The memory breakdown of a Node worker, in the agent's shape (src/protocol/agent.ts MemoryBreakdown),
// from process.memoryUsage() read through the inspector (Runtime.evaluate: one small object, no
// heap snapshot). Parts: JS heap in use, JS heap reserved but free, external (C++ objects bound to
// JS), ArrayBuffers/Buffers, and the native rest (RSS minus the others).
import type { CdpClient } from './client';
import type { MemoryBreakdown, MemoryPart } from '../protocol/agent';

interface NodeUsage { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers?: number; pid: number }

const EXPRESSION = 'JSON.stringify(Object.assign({ pid: process.pid }, process.memoryUsage()))';

export function nodeBreakdownFromUsage(u: NodeUsage, timestamp = Date.now() / 1000): MemoryBreakdown {
  const src = 'process.memoryUsage() (Runtime.evaluate)';
  const buffers = u.arrayBuffers ?? null;
  const external = buffers !== null ? Math.max(0, u.external - buffers) : u.external;
  const rest = u.rss - u.heapTotal - u.external;
  const parts: MemoryPart[] = [
    { key: 'jsHeapUsed', label: 'JS heap in use', bytes: u.heapUsed, how: 'exact', source: `${src}.heapUsed` },
    { key: 'jsHeapFree', label: 'JS heap reserved but free', bytes: u.heapTotal - u.heapUsed, how: 'exact', source: `${src}: heapTotal - heapUsed` },
    { key: 'external', label: 'external memory of JS objects (C++ bound to JS)', bytes: external, how: 'exact', source: `${src}: external - arrayBuffers` },
    buffers !== null
      ? { key: 'arrayBuffers', label: 'ArrayBuffers and Buffers', bytes: buffers, how: 'exact', source: `${src}.arrayBuffers` }
      : { key: 'arrayBuffers', label: 'ArrayBuffers and Buffers', bytes: null, how: 'unavailable', source: null, reason: 'Node < 13.9 reports no arrayBuffers (counted in external)' },
    {
      key: 'nativeOther', label: 'native memory outside the JS heap (code, addons, malloc)', bytes: Math.max(0, rest), how: 'estimated',
      source: 'rss - heapTotal - external', ...(rest < 0 ? { reason: 'external counts memory not resident in RSS' } : {}),
    },
  ];
  return {
    rssBytes: u.rss, process: { rssBytes: u.rss, source: `${src}.rss`, how: 'exact' }, parts, malloc: null, pymalloc: null,
    trackedObjects: 0, untracked: null, pid: u.pid, timestamp, costMs: { total: 0, counts: 0, untracked: 0 },
  };
}

export async function nodeMemoryBreakdown(client: CdpClient, signal?: AbortSignal): Promise<MemoryBreakdown> {
  const t0 = Date.now();
  const r = await client.call('Runtime.evaluate', { expression: EXPRESSION, returnByValue: true }, { signal, timeoutMs: 10_000 });
  if (r.exceptionDetails || typeof r.result.value !== 'string') {
    throw new Error(`${client.worker}: process.memoryUsage() failed: ${r.exceptionDetails?.text ?? r.result.description ?? 'no value'}`);
  }
  const b = nodeBreakdownFromUsage(JSON.parse(r.result.value) as NodeUsage);
  b.costMs.total = Date.now() - t0;
  return b;
}
