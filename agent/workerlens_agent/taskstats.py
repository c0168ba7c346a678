"""Per-task-name statistics fed by Celery's task_prerun/task_postrun (or anything calling begin/end)."""
import time

from ._compat import originals
from .procinfo import rss_bytes


class TaskStats(object):
    def __init__(self):
        self._lock = originals().allocate_lock()
        self._tasks = {}     # name -> stat dict
        self._running = {}   # task id -> (name, t0, rss0)
        self._by_thread = {}  # thread ident -> running task (for Python.getThreadStacks)
        self.pool = None
        self.listeners = []  # callables(event dict) for Python.taskEvent

    @property
    def exact(self):
        return self.pool not in ("threads", "gevent", "eventlet")

    def begin(self, task_id, name, soft_limit=None, hard_limit=None):
        rss = rss_bytes()
        ident = self._ident()
        with self._lock:
            self._running[task_id] = (name, time.perf_counter(), rss, ident)
            self._by_thread[ident] = {"name": name, "taskId": str(task_id), "startedAt": time.time(),
                                      "softTimeLimit": soft_limit, "timeLimit": hard_limit}
        self._emit("start", name, task_id, rss)

    def end(self, task_id, failed=False):
        rss = rss_bytes()
        with self._lock:
            started = self._running.pop(task_id, None)
            if started is None:
                return
            name, t0, rss0, ident = started
            cur = self._by_thread.get(ident)
            if cur is not None and cur["taskId"] == str(task_id):
                del self._by_thread[ident]
            s = self._tasks.get(name)
            if s is None:
                s = self._tasks[name] = {"name": name, "runs": 0, "failures": 0, "totalSeconds": 0.0,
                                         "memDeltaBytes": 0, "lastMemDeltaBytes": 0, "lastRunAt": 0.0}
            delta = rss - rss0
            s["runs"] += 1
            s["failures"] += 1 if failed else 0
            s["totalSeconds"] += time.perf_counter() - t0
            s["memDeltaBytes"] += delta
            s["lastMemDeltaBytes"] = delta
            s["lastRunAt"] = time.time()
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
        event = {"phase": phase, "name": name, "taskId": str(task_id), "timestamp": time.time(), "rssBytes": rss}
        for fn in list(self.listeners):
            try:
                fn(event)
            except Exception:
                pass

    def result(self):
        with self._lock:
            tasks = [dict(s) for s in self._tasks.values()]
        tasks.sort(key=lambda s: s["name"])
        for s in tasks:
            s["totalSeconds"] = round(s["totalSeconds"], 6)
        return {"pool": self.pool, "exact": self.exact, "tasks": tasks}
