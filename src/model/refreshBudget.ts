// Pure: how often the Heap view may count a worker so that counting costs it a bounded share of
// its time. Each count pauses the worker (Python: the agent holds the GIL; Node: V8 takes a full
// heap snapshot, stopping JavaScript for all of it); the interval grows with the measured pause.

/** Share of the worker's time the Heap view may spend pausing it. */
export const COUNT_BUDGET = 0.05;

/** Milliseconds until the next count: the configured interval, or longer when the last pause was costly. */
export function refreshIntervalMs(configuredMs: number, lastPauseMs: number | null, budget = COUNT_BUDGET): number {
  if (lastPauseMs === null || lastPauseMs <= 0) return configuredMs;
  return Math.max(configuredMs, Math.ceil(lastPauseMs / budget / 100) * 100);
}

/** The line the Heap view shows when it stretched the interval (null when it did not). */
export function refreshNote(configuredMs: number, lastPauseMs: number | null, method: string, budget = COUNT_BUDGET): string | null {
  const every = refreshIntervalMs(configuredMs, lastPauseMs, budget);
  if (lastPauseMs === null || every <= configuredMs) return null;
  return `each count is ${method} and paused the worker up to ${(lastPauseMs / 1000).toFixed(2)} s: refreshing every ${(every / 1000).toFixed(1)} s keeps that under ${Math.round(budget * 100)}% of its time`;
}
