"""Per-task-name statistics fed by Celery's task_prerun/task_postrun (or anything calling begin/end).

Cost budget (issue 11: the idle agent must cost <= 1 % of Celery throughput): counting runs and
time costs ~1 us per task. Reading RSS (/proc/self/statm) costs 30-150 us here, so it is sampled:
a task gets its before/after RSS measured only when SAMPLE_BUDGET times what measuring costs has
passed since the last measured task started (<= 1/200 of the wall time). Long tasks are therefore
all measured, sub-millisecond ones one in a few dozen; memSampledRuns says how many were.
"""
import os
import time

from ._compat import originals
from .procinfo import rss_bytes

SAMPLE_BUDGET = 200.0
_perf = time.perf_counter
_wall = time.time


class _Rss(object):
    """RSS via pread() on a kept-open /proc/self/statm (re-opened after a fork)."""

    def __init__(self):
        self.pid = None
        self.fd = None
        self.page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    def __call__(self):
        pid = os.getpid()
        try:
            if self.pid != pid:
                self.fd = os.open("/proc/%d/statm" % pid, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
                self.pid = pid
            return int(os.pread(self.fd, 128, 0).split()[1]) * self.page
        except Exception:
            self.pid = None
            return rss_bytes()


class TaskStats(object):
    def __init__(self):
        self._lock = originals().allocate_lock()
        self._tasks = {}     # name -> stat dict
        self._running = {}   # task id -> (name, t0, rss0 or None when not sampled, thread ident)
        self._by_thread = {}  # thread ident -> running task (for Python.getThreadStacks)
        self.pool = None
        self.listeners = []  # callables(event dict) for Python.taskEvent
        self.emitting = False  # set by the agent while a session listens (Python.enable)
        self._rss = _Rss()
        self._cost = 0.0      # seconds one before+after RSS pair costs (moving average)
        self._next_sample = 0.0

    @property
    def exact(self):
        return self.pool not in ("threads", "gevent", "eventlet")

    def begin(self, task_id, name, soft_limit=None, hard_limit=None):
        now = _perf()
        rss = None
        if now >= self._next_sample or self.emitting:
            rss = self._rss()
            # the pair of reads costs about twice this one (smoothed); the next sampled task starts
            # SAMPLE_BUDGET such costs later, so tasks longer than that are all measured
            self._cost = self._cost * 0.8 + (_perf() - now) * 0.4
            self._next_sample = now + self._cost * SAMPLE_BUDGET
        ident = self._ident()
        self._running[task_id] = (name, now, rss, ident)  # dict stores: atomic under the GIL
        self._by_thread[ident] = {"name": name, "taskId": str(task_id), "startedAt": _wall(),
                                  "softTimeLimit": soft_limit, "timeLimit": hard_limit}
        if self.emitting:
            self._emit("start", name, task_id, rss)

    def end(self, task_id, failed=False):
        now = _perf()
        started = self._running.pop(task_id, None)  # atomic under the GIL
        if started is None:
            return
        name, t0, rss0, ident = started
        rss = None
        if rss0 is not None:
            rss = self._rss()
        with self._lock:
            cur = self._by_thread.get(ident)
            if cur is not None and cur["taskId"] == str(task_id):
                del self._by_thread[ident]
            s = self._tasks.get(name)
            if s is None:
                s = self._tasks[name] = {"name": name, "runs": 0, "failures": 0, "totalSeconds": 0.0,
                                         "memDeltaBytes": 0, "lastMemDeltaBytes": 0, "memSampledRuns": 0,
                                         "lastRunAt": 0.0}
            s["runs"] += 1
            if failed:
                s["failures"] += 1
            s["totalSeconds"] += now - t0
            if rss is not None:
                delta = rss - rss0
                s["memDeltaBytes"] += delta
                s["lastMemDeltaBytes"] = delta
                s["memSampledRuns"] += 1
            s["lastRunAt"] = now
        if self.emitting:
            self._emit("end", name, task_id, rss)

    def _ident(self):
        return originals().get_ident()

    def running_by_thread(self):
        """thread ident -> {name, taskId, startedAt, softTimeLimit, timeLimit} of the task it runs."""
        with self._lock:
            return dict(self._by_thread)

    def running_by_thread(self):
        """thread ident -> {name, taskId, startedAt, softTimeLimit, timeLimit} of the task it runs."""
        with self._lock:
            return dict(self._by_thread)

    def _emit(self, phase, name, task_id, rss):
        if not self.listeners:
            return
        event = {"phase": phase, "name": name, "taskId": str(task_id), "timestamp": time.time(),
                 "rssBytes": rss if rss is not None else self._rss()}
        for fn in list(self.listeners):
            try:
                fn(event)
            except Exception:
                pass

    def result(self):
        with self._lock:
            tasks = [dict(s) for s in self._tasks.values()]
        tasks.sort(key=lambda s: s["name"])
        wall_now, perf_now = time.time(), _perf()
        for s in tasks:
            s["totalSeconds"] = round(s["totalSeconds"], 6)
            s["lastRunAt"] = wall_now - (perf_now - s["lastRunAt"])  # kept as perf_counter: no time() per task
        return {"pool": self.pool, "exact": self.exact, "tasks": tasks}
