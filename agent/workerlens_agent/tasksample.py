"""One RSS measurement per task run, shared by the agent's task stats and the flight recorder.

Reading RSS (/proc/self/statm) costs 5-150 us; a cheap Celery task costs ~600 us of CPU. Measuring
every run in both consumers (taskstats.py, recorder.TaskLog) cost the worker 2-3 % (bench/
agent_celery.bench.py), so RSS is sampled within one budget: a run is measured only when BUDGET
times what a before+after pair costs has passed since the last measured run started (the pair
takes <= 1/BUDGET of wall time; runs longer than that are all measured). The decision and the
reading are cached for the last (task, phase), so the second consumer of the same prerun/postrun
gets them for free (only within CACHE_SECONDS: a task id seen again later is a new run). Each consumer keeps its own "before" value: a consumer whose begin saw no
reading never takes an "after" one. `force` (a listening timeline) measures every run.
"""
import time

from .procinfo import rss_bytes

BUDGET = 200.0
# histogram buckets (upper bounds, bytes) of the RSS change over a run: recorder, metrics, task stats
BUCKETS = (-(1 << 20), -(64 << 10), 0, 4 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20)
CACHE_SECONDS = 0.1  # both consumers run in the same signal dispatch, microseconds apart (more under load)
_perf = time.perf_counter


class TaskRss(object):
    def __init__(self):
        self._cost = 0.0       # seconds a before+after pair costs (moving average)
        self._next = 0.0
        self._last_key = None  # (task_id, phase)
        self._last_value = None
        self._last_at = -1.0

    def reset(self):
        """Forget the schedule and the cache (tests: the next run is measured)."""
        self._next, self._last_key, self._last_value, self._last_at = 0.0, None, None, -1.0

    def begin(self, task_id, force=False):
        """RSS at the start of this run, or None when the run is not measured."""
        key = (task_id, 0)
        now = _perf()
        if self._last_key == key and now - self._last_at < CACHE_SECONDS and (self._last_value is not None or not force):
            return self._last_value
        value = None
        if force or now >= self._next:
            value = rss_bytes()
            # the pair costs about twice this read (smoothed)
            self._cost = self._cost * 0.8 + (_perf() - now) * 0.4
            self._next = now + self._cost * BUDGET
        self._last_key, self._last_value, self._last_at = key, value, now
        return value

    def end(self, task_id):
        """RSS at the end of a run whose begin was measured (the caller checks that)."""
        key = (task_id, 1)
        now = _perf()
        if self._last_key == key and now - self._last_at < CACHE_SECONDS and self._last_value is not None:
            return self._last_value
        value = rss_bytes()
        self._last_key, self._last_value, self._last_at = key, value, now
        return value


def bucket(delta):
    i = 0
    while i < len(BUCKETS) and delta > BUCKETS[i]:
        i += 1
    return i


shared = TaskRss()
