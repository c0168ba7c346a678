// Short names of the memory breakdown's parts (agent/workerlens_agent/memorybreakdown.py keys), for
// places with room for a word or two (a Fleet row's description); tooltips keep the agent's labels.
const SHORT: Record<string, string> = {
  fileBacked: 'files',
  pythonTracked: 'Python objects',
  pythonUntracked: 'untracked objects',
  allocatorOverhead: 'allocator overhead',
  mallocFree: 'free in malloc',
  nativeOther: 'native',
};

export function shortPartName(key: string): string {
  return SHORT[key] ?? key;
}

/** The `n` biggest measured parts, biggest first, as "native 80 MB, Python objects 12 MB". */
export function biggestParts(parts: readonly { key: string; bytes: number | null }[], n: number, format: (bytes: number) => string): string {
  return parts.filter((p): p is { key: string; bytes: number } => p.bytes !== null && p.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes).slice(0, n)
    .map(p => `${shortPartName(p.key)} ${format(p.bytes)}`).join(', ');
}
