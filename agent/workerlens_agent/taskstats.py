"""Per-task-name statistics fed by Celery's task_prerun/task_postrun (or anything calling begin/end).

Cost budget (issue 11: the idle agent must cost <= 1 % of Celery throughput): counting runs and
time costs ~1-2 us per task (bench/agent_task_hooks.bench.py). RSS is read on a sample of runs
(tasksample.py); the flight recorder's task log rides on this measurement (on_end); memSampledRuns says how many were measured, memDeltaHistogram how their RSS
changes were spread (bucket upper bounds in bytes, counts per bucket, the last one open-ended).
"""
import time

from ._compat import originals
from . import tasksample

_perf = time.perf_counter
_wall = time.time
# on_end[0](stats, name, task_id, t0 perf, seconds, rss delta or None, failed) after each run: the
# flight recorder's task log rides on this measurement instead of hooks of its own (telemetry.py)
on_end = [None]
# limits_of[0](limits given to begin) -> (soft, hard): how a runner's lazy limits are read (celery.py)
limits_of = [None]


# a task name's figures, as a list (index ops cost less than string keys on the per-task path)
RUNS, FAILURES, SECONDS, MEM_DELTA, LAST_MEM_DELTA, SAMPLED, HIST, LAST_RUN = range(8)


class TaskStats(object):
    def __init__(self):
        self._lock = originals().allocate_lock()
        self._tasks = {}     # name -> [runs, failures, seconds, mem delta, last mem delta, sampled, histogram, last run]
        self._running = {}   # task id -> (name, t0 perf, rss0 or None when not sampled, thread ident, limits)
        self.pool = None
        self.listeners = []  # callables(event dict) for Python.taskEvent
        self.emitting = False  # set by the agent while a session listens (Python.enable)
        self._rss = tasksample.shared
        self._get_ident = originals().get_ident  # the real thread (or greenlet) ident, resolved once

    @property
    def exact(self):
        return self.pool not in ("threads", "gevent", "eventlet")

    def begin(self, task_id, name, limits=None):
        """limits: (soft, hard) seconds, or what limits_of[0] turns into them when asked (running_by_thread)."""
        now = _perf()
        rss = self._rss
        if now >= rss.next_at or self.emitting:  # RSS on a sample of runs (tasksample.py)
            rss = rss.begin(now, self.emitting)
        else:
            rss = None
        self._running[task_id] = (name, now, rss, self._get_ident(), limits)  # a dict store: atomic under the GIL
        if self.emitting:
            self._emit("start", name, task_id, rss)

    def end(self, task_id, failed=False):
        now = _perf()
        started = self._running.pop(task_id, None)  # atomic under the GIL
        if started is None:
            return
        name, t0, rss0, _ident, _limits = started
        seconds = now - t0
        rss = delta = None
        if rss0 is not None:
            rss = self._rss.end()
            delta = rss - rss0
        with self._lock:  # threads pools end runs concurrently; uncontended elsewhere (~0.1 us)
            s = self._tasks.get(name)
            if s is None:
                s = self._tasks[name] = [0, 0, 0.0, 0, 0, 0, [0] * (len(tasksample.BUCKETS) + 1), 0.0]
            s[RUNS] += 1
            if failed:
                s[FAILURES] += 1
            s[SECONDS] += seconds
            if delta is not None:
                s[MEM_DELTA] += delta
                s[LAST_MEM_DELTA] = delta
                s[SAMPLED] += 1
                s[HIST][tasksample.bucket(delta)] += 1
            s[LAST_RUN] = now
        done = on_end[0]
        if done is not None:  # the flight recorder's log, fed from this one measurement (telemetry.py)
            done(self, name, task_id, t0, seconds, delta, failed)
        if self.emitting:
            self._emit("end", name, task_id, rss)

    def running_count(self):
        return len(self._running)

    def wall_of(self, perf_t):
        """Unix time of a perf_counter reading (runs keep perf_counter: no time() per task)."""
        return _wall() - (_perf() - perf_t)

    def running_by_thread(self):
        """thread ident -> {name, taskId, startedAt, softTimeLimit, timeLimit} of the task it runs
        (the newest run of each thread: a thread runs one task at a time)."""
        out = {}
        for task_id, run in list(self._running.items()):  # a copy in C: atomic under the GIL
            name, t0, _rss, ident, limits = run
            if ident in out and out[ident][0] > t0:
                continue
            out[ident] = (t0, task_id, name, limits)
        resolve = limits_of[0]
        for ident, (t0, task_id, name, limits) in list(out.items()):
            soft = hard = None
            try:
                soft, hard = resolve(limits) if resolve is not None and limits is not None else (limits or (None, None))
            except Exception:
                pass
            out[ident] = {"name": name, "taskId": str(task_id), "startedAt": self.wall_of(t0),
                          "softTimeLimit": soft, "timeLimit": hard}
        return out

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

    def figures(self):
        """{name: a copy of its figures list} (index constants above), consistent per name."""
        with self._lock:
            return dict((name, list(s[:HIST]) + [list(s[HIST]), s[LAST_RUN]]) for name, s in list(self._tasks.items()))

    def result(self):
        wall_now, perf_now = time.time(), _perf()
        tasks = []
        for name, s in self.figures().items():
            tasks.append({"name": name, "runs": s[RUNS], "failures": s[FAILURES], "totalSeconds": round(s[SECONDS], 6),
                          "memDeltaBytes": s[MEM_DELTA], "lastMemDeltaBytes": s[LAST_MEM_DELTA],
                          "memSampledRuns": s[SAMPLED], "memDeltaHistogram": s[HIST],
                          "lastRunAt": wall_now - (perf_now - s[LAST_RUN])})  # kept as perf_counter: no time() per task
        tasks.sort(key=lambda s: s["name"])
        return {"pool": self.pool, "exact": self.exact, "tasks": tasks,
                "memDeltaBucketBounds": list(tasksample.BUCKETS)}
