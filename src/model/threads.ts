// Pure wording for thread stacks (Threads view and `workerlens stacks` say the same things).
import type { Deadlock, GetThreadStacksResult, ThreadStack, ThreadTask, ThreadWait, WaitObject } from '../protocol/agent';

export function shortThreadId(id: number): string {
  return `0x${id.toString(16)}`;
}

export function threadTitle(t: ThreadStack): string {
  return `${t.name}${t.nativeId ? ` (tid ${t.nativeId})` : ''}`;
}

export function stateLabel(t: ThreadStack): string {
  const s = t.state ?? 'unknown';
  const word = { running: 'running', waiting: 'waiting', sleeping: 'sleeping', io: 'in I/O', idle: 'idle', agent: 'Worker Lens', unknown: 'unknown' }[s] ?? s;
  return t.stateDetail && s !== 'agent' ? `${word} ${t.stateDetail}`.replace(/^idle idle/, 'idle') : word;
}

function seconds(s: number): string {
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

export function taskSummary(task: ThreadTask): string {
  const limits: string[] = [];
  if (task.softTimeLimit) limits.push(`soft limit ${seconds(task.softTimeLimit)}${task.pastSoftLimit ? ' — PAST IT' : ''}`);
  if (task.timeLimit) limits.push(`hard limit ${seconds(task.timeLimit)}${task.pastHardLimit ? ' — PAST IT' : ''}`);
  return `${task.name} [${task.taskId.slice(0, 8)}] running ${seconds(task.runningSeconds)}${limits.length ? ` (${limits.join(', ')})` : ' (no time limit)'}`;
}

export function objectLabel(o: WaitObject): string {
  return `${o.kind === 'object' ? o.type : o.kind} 0x${o.id.toString(16)}${o.kind !== 'object' && !o.type.endsWith(o.kind) ? ` (${o.type})` : ''}`;
}

export function waitSummary(w: ThreadWait, byId: Map<number, ThreadStack>): string {
  const what = `${w.expression ? `\`${w.expression}\` = ` : ''}${objectLabel(w.object)}`;
  const holders = (w.holderThreadIds ?? []).map(h => { const t = byId.get(h); return t ? threadTitle(t) : `thread ${shortThreadId(h)}`; });
  return `waits on ${what}${holders.length ? `, held by ${holders.join(', ')}` : ''}`;
}

export function deadlockSummary(d: Deadlock, byId: Map<number, ThreadStack>): string {
  const parts = d.threadIds.map((id, i) => {
    const t = byId.get(id);
    const next = byId.get(d.threadIds[(i + 1) % d.threadIds.length]);
    return `${t ? threadTitle(t) : shortThreadId(id)} waits on ${objectLabel(d.objects[i])} held by ${next ? threadTitle(next) : '?'}`;
  });
  return `Deadlock: ${parts.join('; ')}`;
}

export function threadsById(r: GetThreadStacksResult): Map<number, ThreadStack> {
  return new Map(r.threads.map(t => [t.threadId, t]));
}

/** Where the stacks came from, in words (every figure says how it was obtained). */
export function sourceLabel(r: GetThreadStacksResult): string {
  if (r.source === 'outside') return 'read from outside (/proc/PID/mem, worker not stopped)';
  return `from the agent (worker paused ${(r.pauseMs ?? 0).toFixed(1)} ms)`;
}

/** Non-agent threads first: deadlocked, past soft limit, waiting, then the rest. */
export function sortThreads(r: GetThreadStacksResult): ThreadStack[] {
  const dead = new Set((r.deadlocks ?? []).flatMap(d => d.threadIds));
  const rank = (t: ThreadStack) => (t.isAgent ? 9 : dead.has(t.threadId) ? 0 : t.task?.pastSoftLimit ? 1 : t.task ? 2 : t.state === 'waiting' ? 3 : t.state === 'running' ? 4 : 5);
  return [...r.threads].sort((a, b) => rank(a) - rank(b) || a.threadId - b.threadId);
}
