"""One RSS measurement per task run, for the agent's task stats (which feed the flight recorder's log).

Reading RSS (/proc/self/statm) costs 5-150 us; a cheap Celery task costs ~400 us of CPU. Measuring
every run cost the worker 2-3 % (bench/agent_celery.bench.py), so RSS is sampled: a run is measured
only when BUDGET times what a before+after pair costs (CPU time) has passed since the last measured
run started (the pairs take <= 1/BUDGET of the worker's time; runs longer than that are all measured). One
consumer per process reads it per run: the agent's TaskStats where the agent runs (the recorder's
log rides on its measurement), else the recorder's own TaskLog. `force` (a listening timeline)
measures every run.
"""
import time

from .procinfo import rss_bytes

BUDGET = 1000.0  # the readings take <= 0.1 % of wall time
# histogram buckets (upper bounds, bytes) of the RSS change over a run: recorder, metrics, task stats
BUCKETS = (-(1 << 20), -(64 << 10), 0, 4 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20)
_cpu = time.thread_time  # this thread's CPU time (ns resolution on Linux; 3.7+)


class TaskRss(object):
    def __init__(self):
        self._cost = 0.0       # seconds a before+after pair costs (moving average)
        self.next_at = 0.0     # perf_counter time from which the next run is measured (callers may check it first)

    def reset(self):
        """Forget the schedule and the measured cost (tests: the next run is measured)."""
        self.next_at = 0.0
        self._cost = 0.0

    def begin(self, now, force=False):
        """RSS at the start of a run that starts at perf_counter `now`, or None when it is not measured."""
        if not force and now < self.next_at:
            return None
        c0 = _cpu()
        value = rss_bytes()
        # the pair costs about twice this read (smoothed). The read's CPU time, not its wall time: a
        # read preempted on a loaded machine (10 ms and more) stopped all measuring for 10+ s at 1000x
        self._cost = self._cost * 0.8 + (_cpu() - c0) * 0.4
        self.next_at = now + self._cost * BUDGET
        return value

    def end(self):
        """RSS at the end of a run whose begin was measured (the caller checks that)."""
        return rss_bytes()


def bucket(delta):
    i = 0
    while i < len(BUCKETS) and delta > BUCKETS[i]:
        i += 1
    return i


shared = TaskRss()
