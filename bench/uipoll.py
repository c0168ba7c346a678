"""What the UI asks a worker's agent on each Heap view refresh, and how long it waits between them,
for the benches that measure its cost (kept in one place so both poll alike).

With the Heap view open (the sidebar's first view once attached) and the Tasks view beside it:
the Heap view asks every type's count (no limit: it computes growth from all of them) and the
memory breakdown, with the untracked walk spaced as memoryHeader.ts spaces it (at least every 5th
refresh, and untrackedSpacing() x the last walk's own cost apart); the Tasks view asks the task
stats. The wait follows src/model/refreshBudget.ts: the configured 2 s, stretched so that the
refresh's own cost (the count's pause + the breakdown's) stays within the counts' share. The
Timeline reads RSS from /proc on the UI's side between its background samples, so it adds nothing.
"""
import math

INTERVAL_S = 2.0
MIN_UNTRACKED_EVERY = 5
SHARE_PERCENT = 0.5   # src/model/refreshBudget.ts WORKER_SHARE_PERCENT (workerLens.heap.workerShare)
COUNT_BUDGET = SHARE_PERCENT * 0.75 / 100.0
UNTRACKED_SPACING = 100.0 / (SHARE_PERCENT * 0.25)


def interval_s(cost_ms):
    """refreshIntervalMs(2000, cost, COUNT_BUDGET) / 1000."""
    if not cost_ms or cost_ms <= 0:
        return INTERVAL_S
    return max(INTERVAL_S, math.ceil(cost_ms / COUNT_BUDGET / 100.0) * 100 / 1000.0)


class Poller(object):
    def __init__(self):
        self.refreshes = 0
        self.next_untracked_at = 0
        self.waited_s = 0.0   # the sum of the waits the UI would have made after each refresh

    def calls(self):
        """The (method, params) of the next refresh."""
        untracked = self.refreshes >= self.next_untracked_at
        return (("Python.getObjectCounts", {}),
                ("Python.getMemoryBreakdown", {"untracked": untracked}),
                ("Python.getTaskStats", {}))

    def poll(self, conn):
        """One refresh; returns the seconds the UI waits before the next one."""
        cost = 0.0
        wait = INTERVAL_S
        for method, params in self.calls():
            reply = conn.call(method, params) or {}
            if method == "Python.getObjectCounts":
                cost += reply.get("pauseMs") or 0.0
            if method == "Python.getMemoryBreakdown":
                costs = reply.get("costMs") or {}
                cost += max(0.0, (costs.get("total") or 0.0) - (costs.get("untracked") or 0.0))
                wait = interval_s(cost)
                if params["untracked"]:
                    every = max(MIN_UNTRACKED_EVERY, int(math.ceil((costs.get("untracked") or 0.0) * UNTRACKED_SPACING / (wait * 1000.0))))
                    self.next_untracked_at = self.refreshes + every
        self.refreshes += 1
        self.waited_s += wait
        return wait
