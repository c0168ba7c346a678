"""Per-task-name statistics fed by Celery's task_prerun/task_postrun (or anything calling begin/end).

Cost budget (issue 11: the idle agent must cost <= 1 % of Celery throughput): counting runs and
time costs ~1 us per task. RSS is read on a sample of runs (tasksample.py, one budget shared with
the flight recorder); memSampledRuns says how many were measured, memDeltaHistogram how their RSS
changes were spread (bucket upper bounds in bytes, counts per bucket, the last one open-ended).
"""
import time

from ._compat import originals
from . import tasksample

_perf = time.perf_counter
_wall = time.time


class TaskStats(object):
    def __init__(self):
        self._lock = originals().allocate_lock()
        self._tasks = {}     # name -> stat dict
        self._running = {}   # task id -> (name, t0, rss0 or None when not sampled, thread ident)
        self._by_thread = {}  # thread ident -> running task (for Python.getThreadStacks)
        self.pool = None
        self.listeners = []  # callables(event dict) for Python.taskEvent
        self.emitting = False  # set by the agent while a session listens (Python.enable)
        self._rss = tasksample.shared

    @property
    def exact(self):
        return self.pool not in ("threads", "gevent", "eventlet")

    def begin(self, task_id, name, soft_limit=None, hard_limit=None):
        now = _perf()
        rss = self._rss.begin(task_id, self.emitting)
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
            rss = self._rss.end(task_id)
        with self._lock:
            cur = self._by_thread.get(ident)
            if cur is not None and cur["taskId"] == str(task_id):
                del self._by_thread[ident]
            s = self._tasks.get(name)
            if s is None:
                s = self._tasks[name] = {"name": name, "runs": 0, "failures": 0, "totalSeconds": 0.0,
                                         "memDeltaBytes": 0, "lastMemDeltaBytes": 0, "memSampledRuns": 0,
                                         "memDeltaHistogram": [0] * (len(tasksample.BUCKETS) + 1),
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
                s["memDeltaHistogram"][tasksample.bucket(delta)] += 1
            s["lastRunAt"] = now
        if self.emitting:
            self._emit("end", name, task_id, rss)

    def _ident(self):
        return originals().get_ident()

    def running_by_thread(self):
        """thread ident -> {name, taskId, startedAt, softTimeLimit, timeLimit} of the task it runs."""
        with self._lock:
            return dict(self._by_thread)

    def _emit(self, phase, name, task_id, rss):
        if not self.listeners:
            return
        event = {"phase": phase, "name": name, "taskId": str(task_id), "timestamp": time.time(),
                 "rssBytes": rss if rss is not None else tasksample.rss_bytes()}
        for fn in list(self.listeners):
            try:
                fn(event)
            except Exception:
                pass

    def result(self):
        with self._lock:
            tasks = [dict(s, memDeltaHistogram=list(s["memDeltaHistogram"])) for s in self._tasks.values()]
        tasks.sort(key=lambda s: s["name"])
        wall_now, perf_now = time.time(), _perf()
        for s in tasks:
            s["totalSeconds"] = round(s["totalSeconds"], 6)
            s["lastRunAt"] = wall_now - (perf_now - s["lastRunAt"])  # kept as perf_counter: no time() per task
        return {"pool": self.pool, "exact": self.exact, "tasks": tasks,
                "memDeltaBucketBounds": list(tasksample.BUCKETS)}
