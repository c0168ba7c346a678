"""The flight recorder: a small rolling report of this process, refreshed on disk every few seconds.

What it holds: RSS (and the memory breakdown's parts when this build has it), the Python types that
grew most since the first count (the top few with a retainer path: typepaths.py), the last tasks
with their RSS change, per-task histograms of that change, thread stacks, and at the end how the
process exited. It is also how pool children feed the
main process's /metrics (metrics.py reads the files). Costs are bounded: a light refresh (RSS,
stacks, write) every interval; object counts only as often as keeps them under 0.5 % of wall time;
report size capped. A failing disk pauses the recorder with the reason instead of raising.
"""
import collections
import errno
import json
import os
import sys
import time

from . import heapcounts, memoryparts, procinfo, reportfiles, tasksample, taskstats, typepaths
from ._compat import originals
from .protocol import AGENT_VERSION
from .stderrlog import log as _log

BUCKETS = tasksample.BUCKETS
RECENT_TASKS = 20
MAX_TASK_NAMES = 40      # per process; further names are counted as "other" (bounded cardinality)
TOP_TYPES = 10
MAX_BYTES = 256 << 10
COUNTS_DUTY = 0.005      # object counts may use at most this share of wall time
RETRY_SECONDS = 30.0


def _interval_from_env():
    try:
        v = float(os.environ.get("WORKERLENS_RECORDER_INTERVAL") or 5.0)
        return v if v >= 0.2 else 5.0
    except ValueError:
        return 5.0


def _run_dict(run, wall_now, perf_now):
    name, task_id, t0, seconds, delta, failed = run
    return {"name": name, "taskId": str(task_id), "startedAt": round(wall_now - (perf_now - t0), 3),
            "seconds": round(seconds, 6), "memDeltaBytes": delta, "state": "failed" if failed else "succeeded"}


def _cumulative(counts):
    cum, acc = [], 0
    for c in counts:
        acc += c
        cum.append(acc)
    return cum


class TaskLog(object):
    """Last tasks, runs per name and state, and histograms of RSS change per run.

    Where the agent runs in the process, its TaskStats (`source`) measures each run once and this log
    only keeps the last runs (telemetry._on_task_done appends them); runs and histograms are read
    from the source when the report is written. Standalone (no agent), begin/end measure here. RSS is
    read on a sample of runs (tasksample.py); the histograms count the measured runs, `runs` counts
    all of them, and a recent run that was not measured has memDeltaBytes null.
    """

    def __init__(self):
        self._lock = originals().allocate_lock()
        self._running = {}
        self.recent = collections.deque(maxlen=RECENT_TASKS)  # (name, task id, t0 perf, seconds, delta, failed)
        self.runs = {}    # name -> {"succeeded": n, "failed": n}
        self.hist = {}    # name -> [bucket counts (non-cumulative, len(BUCKETS)+1), sum, count]
        self._completed = 0
        self.source = None  # the agent's TaskStats when it feeds this log

    @property
    def completed(self):
        if self.source is not None:
            return sum(f[taskstats.RUNS] for f in self.source.figures().values())
        return self._completed

    def begin(self, task_id, name):
        """Standalone (no agent in this process): this log's own task_prerun."""
        now = time.perf_counter()
        self._running[task_id] = (name, now, tasksample.shared.begin(now))

    def end(self, task_id, failed=False):
        started = self._running.pop(task_id, None)
        if started is None:
            return
        name, t0, rss0 = started
        delta = None if rss0 is None else tasksample.shared.end() - rss0
        seconds = time.perf_counter() - t0
        with self._lock:
            self._completed += 1
            key = name if (name in self.runs or len(self.runs) < MAX_TASK_NAMES) else "other"
            r = self.runs.get(key)
            if r is None:
                r = self.runs[key] = {"succeeded": 0, "failed": 0}
                self.hist[key] = [[0] * (len(BUCKETS) + 1), 0, 0]
            r["failed" if failed else "succeeded"] += 1
            if delta is not None:
                h = self.hist[key]
                h[0][tasksample.bucket(delta)] += 1
                h[1] += delta
                h[2] += 1
            self.recent.append((name, task_id, t0, seconds, delta, failed))

    def _from_source(self):
        """(completed, runs, hist) from the agent's task stats, names past MAX_TASK_NAMES as "other"."""
        runs, hist, completed = {}, {}, 0
        for name, f in sorted(self.source.figures().items()):
            completed += f[taskstats.RUNS]
            key = name if (name in runs or len(runs) < MAX_TASK_NAMES) else "other"
            r = runs.setdefault(key, {"succeeded": 0, "failed": 0})
            r["succeeded"] += f[taskstats.RUNS] - f[taskstats.FAILURES]
            r["failed"] += f[taskstats.FAILURES]
            h = hist.setdefault(key, [[0] * (len(BUCKETS) + 1), 0, 0])
            h[0] = [a + b for a, b in zip(h[0], f[taskstats.HIST])]
            h[1] += f[taskstats.MEM_DELTA]
            h[2] += f[taskstats.SAMPLED]
        return completed, runs, hist

    def snapshot(self):
        wall_now, perf_now = time.time(), time.perf_counter()
        recent = [_run_dict(r, wall_now, perf_now) for r in list(self.recent)]
        if self.source is not None:
            completed, runs, hist = self._from_source()
            running = self.source.running_count()
        else:
            with self._lock:
                completed, running = self._completed, len(self._running)
                runs = dict((k, dict(v)) for k, v in self.runs.items())
                hist = dict((k, [list(v[0]), v[1], v[2]]) for k, v in self.hist.items())
        return {"completed": completed, "runs": runs,
                "memDelta": dict((name, {"cumulative": _cumulative(c), "sum": total, "count": n}) for name, (c, total, n) in hist.items()),
                "bucketBounds": list(BUCKETS), "recent": recent, "running": running}


class Recorder(object):
    def __init__(self, role="child", process_name=None, child_index=None, worker_name=None, pool=None,
                 directory=None, interval=None, limits=None):
        self.pid = os.getpid()
        self.started_at = time.time()
        self.role = role
        self.process_name = process_name
        self.child_index = child_index
        self.worker_name = worker_name
        self.pool = pool
        self.limits = dict(limits or {})
        self.directory = directory or reportfiles.reports_dir()
        self.interval = interval or _interval_from_env()
        self.name = reportfiles.file_name(self.pid, self.started_at)
        self.tasks = TaskLog()
        self.paused = None            # {"reason", "since"} while writes fail
        self.writes = self.errors = 0
        self.last = None              # the last report dict (what /metrics reads in this process)
        self.exit = None
        self._counts = None           # {"at", "costMs", "total", "growing", "paths"...}
        self._baseline = None         # {(module, type): count} of the first count
        self._prev_growing = {}       # {type name: count} of the types growing at the previous count
        self._paths = typepaths.TypePaths()  # a retainer path for the top growing types (cached)
        self._memory = None
        self._next_counts = 0.0
        self._retry_at = 0.0
        self._stopped = False
        self._thread_ident = None
        self._lock = originals().allocate_lock()
        self._dir_ok = False
        self.on_refresh = []          # callables run after each refresh (the main process's exit watcher)
        # counting touches every object: in a prefork child that un-shares the copy-on-write pages it
        # inherited (once); WORKERLENS_RECORDER_COUNTS=0 keeps to RSS, tasks and stacks
        self.counts_on = (os.environ.get("WORKERLENS_RECORDER_COUNTS") or "1").strip().lower() not in ("0", "false", "no", "off")

    # -- thread --------------------------------------------------------------------------------
    def start(self):
        originals().start_new_thread(self._loop, ())
        return self

    def stop(self):
        self._stopped = True

    def _loop(self):
        self._thread_ident = originals().get_ident()
        sleep = originals().sleep
        while not self._stopped and os.getpid() == self.pid:
            try:
                self.refresh()
            except Exception as e:  # never into the worker
                self.errors += 1
                _log("flight recorder refresh failed: %s" % e)
            for fn in list(self.on_refresh):
                try:
                    fn()
                except Exception:
                    pass
            sleep(self.interval)

    # -- one refresh ---------------------------------------------------------------------------
    def _heavy(self, now):
        """Object counts and the breakdown, only when their cost fits the duty budget."""
        if now < self._next_counts or not self.counts_on:
            return
        t0 = time.perf_counter()
        counts = heapcounts.object_counts()
        mem = None
        try:
            mem = memoryparts.parts(counts=counts)
        except Exception as e:
            mem = {"error": str(e)[:200]}
        cost = time.perf_counter() - t0
        rows = counts["counts"]
        current = {(r["module"], r["type"]): r["count"] for r in rows}
        if self._baseline is None:
            self._baseline = {"at": now, "counts": current}
        base = self._baseline["counts"]
        growing = []
        for (mod, typ), n in current.items():
            g = n - base.get((mod, typ), 0)
            if g > 0:
                growing.append((g, n, mod, typ))
        growing.sort(key=lambda x: (-x[0], x[3]))
        top = [{"type": typepaths.type_name(m, t), "count": n, "growth": g} for g, n, m, t in growing[:TOP_TYPES]]
        path_cost = 0.0
        try:  # paths of the top growing types (the report's objects.paths says what the last search cost)
            path_cost = self._paths.annotate(top, self._prev_growing, now)
        except Exception as e:
            _log("flight recorder: retainer paths failed: %s" % e)
        self._prev_growing = {g["type"]: g["count"] for g in top}
        self._counts = {"at": round(now, 3), "costMs": round(cost * 1000.0, 3), "total": counts["totalObjects"],
                        "trackedBytesEstimate": counts["totalSize"], "baselineAt": round(self._baseline["at"], 3),
                        "growing": top, "paths": self._paths.last}
        if mem is not None:
            mem["at"] = round(now, 3)
        self._memory = mem
        self._next_counts = now + max(self.interval, (cost + path_cost) / COUNTS_DUTY)  # one duty budget for both

    def build(self, now=None, heavy=True):
        now = time.time() if now is None else now
        if heavy:
            self._heavy(now)
        mine = {self._thread_ident} if self._thread_ident else set()
        agent_threads = _agent_threads()
        try:
            stacks = _stacks(mine | agent_threads, max_frames=30)
            threads = [{"name": "Worker Lens agent" if t["threadId"] in agent_threads else t["name"],
                        "daemon": t["daemon"], "isRecorder": t["threadId"] in mine, "isAgent": t["isAgent"],
                        "frames": t["frames"]} for t in stacks]
            threads.sort(key=lambda t: (t["isAgent"], t["name"] != "MainThread"))  # the worker's own first
            threads = threads[:32]
        except Exception:
            threads = []
        try:
            import resource
            max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        except Exception:
            max_rss = None
        report = {"format": reportfiles.FORMAT, "version": reportfiles.VERSION, "pid": self.pid, "ppid": os.getppid(),
                  "role": self.role, "processName": self.process_name, "childIndex": self.child_index,
                  "workerName": self.worker_name, "pool": self.pool, "limits": self.limits,
                  "startedAt": round(self.started_at, 3), "updatedAt": round(now, 3),
                  "intervalSeconds": self.interval, "pythonVersion": procinfo.python_version(),
                  "agentVersion": AGENT_VERSION, "rssBytes": procinfo.rss_bytes(), "maxRssBytes": max_rss,
                  "memory": self._memory,
                  "memoryNote": ("object counts and breakdown off (WORKERLENS_RECORDER_COUNTS=0): RSS only"
                                 if not self.counts_on else None if memoryparts.available() else
                                 "the memory breakdown is not in this agent build: RSS only"),
                  "objects": self._counts, "tasks": self.tasks.snapshot(), "threads": threads,
                  "recorder": {"paused": self.paused, "writes": self.writes, "errors": self.errors,
                               "directory": self.directory},
                  "exit": self.exit}
        return report

    def encode(self, report):
        data = json_bytes(report)
        if len(data) > MAX_BYTES:  # bounded: fewer frames, then no stacks, then fewer tasks
            for t in report["threads"]:
                t["frames"] = t["frames"][:8]
            data = json_bytes(report)
        if len(data) > MAX_BYTES:
            report["threads"] = []
            report["tasks"]["recent"] = report["tasks"]["recent"][-5:]
            data = json_bytes(report)
        return data

    def refresh(self, heavy=True):
        with self._lock:
            now = time.time()
            report = self.build(now, heavy=heavy)
            self.last = report
            if self.paused and now < self._retry_at and self.exit is None:
                return report
            try:
                if not self._dir_ok:
                    reportfiles.ensure_private_dir(self.directory)
                    reportfiles.prune(self.directory)
                    self._dir_ok = True
                reportfiles.write_atomic(self.directory, self.name, self.encode(report))
                self.writes += 1
                if self.paused:
                    _log("flight recorder resumed writing to %s (paused %.0f s: %s)"
                         % (self.directory, now - self.paused["since"], self.paused["reason"]))
                    self.paused = None
                    report["recorder"]["paused"] = None
            except OSError as e:
                self._pause(e, now)
                report["recorder"]["paused"] = self.paused
            return report

    def _pause(self, e, now):
        code = errno.errorcode.get(e.errno, "") if e.errno else ""
        if e.errno == errno.ENOSPC:
            why = "the disk is full"
        elif e.errno == errno.EROFS:
            why = "the file system is read-only"
        elif e.errno in (errno.EACCES, errno.EPERM):
            why = "no permission"
        else:
            why = "cannot write"
        reason = ("%s (%s): %s" % (why, code, e.strerror or e)) if code else ("%s: %s" % (why, e))
        first = self.paused is None
        self.paused = {"reason": reason, "since": self.paused["since"] if self.paused else round(now, 3)}
        self._retry_at = now + RETRY_SECONDS
        self._dir_ok = False
        if first:
            _log("flight recorder paused: %s in %s; retrying every %.0f s, the worker keeps running"
                 % (reason, self.directory, RETRY_SECONDS))

    def finish(self, exit_info):
        """The last write, from the exiting process itself (no object counts: it must be quick)."""
        self.exit = exit_info
        self._stopped = True
        try:
            return self.refresh(heavy=False)
        except Exception:
            return None


def _stacks(agent_idents, max_frames):
    """Every thread's frames, innermost first (sys._current_frames + threading's registry: plain reads).

    Deliberately lighter than threadstacks.thread_stacks (no waits-for analysis): it runs every refresh.
    """
    import threading
    names, daemons = {}, {}
    try:
        for t in list(threading._active.values()):  # no locks taken, no user code
            names[t.ident] = t.name
            daemons[t.ident] = t.daemon
    except Exception:
        pass
    out = []
    current = sys._current_frames()
    for ident, frame in current.items():
        frames = []
        f = frame
        while f is not None and len(frames) < max_frames:
            code = f.f_code
            frames.append({"functionName": code.co_name, "url": code.co_filename,
                           "lineNumber": max(0, (f.f_lineno or 1) - 1)})
            f = f.f_back
        out.append({"threadId": ident, "name": names.get(ident, "thread-%d" % ident),
                    "daemon": bool(daemons.get(ident, False)), "isAgent": ident in agent_idents, "frames": frames})
    del current, frame, f
    return out


def _agent_threads():
    """Threads of this process's CDP agent, if one runs (so stacks can say which are ours)."""
    mod = sys.modules.get(__package__ + ".agent")
    try:
        a = mod.current() if mod is not None else None
        return set(a.agent_threads()) if a is not None else set()
    except Exception:
        return set()


def json_bytes(doc):
    return json.dumps(doc, separators=(",", ":")).encode("utf-8")

