// Pure: how often the Heap view may count a worker so that counting costs it a bounded share of
// its time. Each count pauses the worker (Python: the agent holds the GIL; Node: V8 takes a full
// heap snapshot, stopping JavaScript for all of it); the interval grows with the measured pause.

/** Share of a Python worker's time the Heap view may take by default (workerLens.heap.workerShare, in
 *  percent): 0.5 %, so that with the agent's per-task hooks (<= 0.45 % of the cheapest real task,
 *  bench/agent_task_hooks.bench.py) polling and bookkeeping stay within issue 11's 1 %. Three
 *  quarters go to the refresh (the counts and the breakdown), a quarter to the untracked walk
 *  (memoryHeader.ts). */
export const WORKER_SHARE_PERCENT = 0.5;
export const COUNT_BUDGET = countBudget('python');
/** Node: V8 has no cheap count, each one is a full heap snapshot (hundreds of ms); 1 % would refresh
 *  about once a minute, so the view may take 5 % and says so when it stretches. */
export const NODE_COUNT_BUDGET = 0.05;

/** The counts' budget (a fraction of the worker's time) for a worker of this runtime. */
export function countBudget(kind: string | null | undefined, sharePercent = WORKER_SHARE_PERCENT): number {
  return kind === 'node' ? NODE_COUNT_BUDGET : (validShare(sharePercent) * 0.75) / 100;
}

/** How many times its own cost the untracked walk waits before the next one (800 at 0.5 %). */
export function untrackedSpacing(sharePercent = WORKER_SHARE_PERCENT): number {
  return 100 / (validShare(sharePercent) * 0.25);
}

function validShare(p: number): number {
  return Number.isFinite(p) && p > 0 ? Math.min(50, Math.max(0.1, p)) : WORKER_SHARE_PERCENT;
}

/** Milliseconds until the next refresh: the configured interval, or longer when the last one was costly. */
export function refreshIntervalMs(configuredMs: number, lastPauseMs: number | null, budget = COUNT_BUDGET): number {
  if (lastPauseMs === null || lastPauseMs <= 0) return configuredMs;
  return Math.max(configuredMs, Math.ceil(lastPauseMs / budget / 100) * 100);
}

/** The line the Heap view shows when it stretched the interval (null when it did not). */
export function refreshNote(configuredMs: number, lastPauseMs: number | null, method: string, budget = COUNT_BUDGET): string | null {
  const every = refreshIntervalMs(configuredMs, lastPauseMs, budget);
  if (lastPauseMs === null || every <= configuredMs) return null;
  return `each refresh is ${method} and paused the worker up to ${(lastPauseMs / 1000).toFixed(2)} s: refreshing every ${(every / 1000).toFixed(1)} s keeps that under ${Number((budget * 100).toFixed(2))}% of its time`;
}
