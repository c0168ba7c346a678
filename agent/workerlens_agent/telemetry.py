"""Celery glue for production telemetry: the flight recorder in every worker process, /metrics in the main.

Enabled by `--workerlens` / WORKERLENS=1 (recorder) and `--workerlens-metrics HOST:PORT` /
WORKERLENS_METRICS=HOST:PORT (recorder + /metrics); WORKERLENS_RECORDER=0 turns the recorder off.
Pool children write their reports; the main process serves /metrics from its own report and its
children's files, and records why each child exited: billiard's exit code (seen by wrapping the
pool's on_process_down) plus what the child itself said on worker_process_shutdown (which limit it
reached). Nothing here may raise into Celery.
"""
import os
import signal as _signal
import time

from . import metrics, recorder, reportfiles
from ._compat import originals
from .stderrlog import log as _log

EX_RECYCLE = 0x9B  # billiard.pool: a child that reached max_tasks/max_memory_per_child
FALLBACK_GRACE = 15.0  # seconds a child may be gone before the watcher records it without its exit status
_state = {"enabled": False, "connected": False, "main_pid": None, "recorder": None, "metrics": None,
          "worker_name": None, "pool": None, "limits": {}, "exits": {}, "seen": {}, "dead_once": {},
          "oom_kills": None, "skipped": 0, "lock": None}


def env_metrics():
    return (os.environ.get("WORKERLENS_METRICS") or "").strip() or None


def recorder_wanted():
    return (os.environ.get("WORKERLENS_RECORDER") or "1").strip().lower() not in ("0", "false", "no", "off")


def current():
    r = _state["recorder"]
    return r if r is not None and r.pid == os.getpid() else None


# -- exit reasons ------------------------------------------------------------------------------
def oom_kill_count():
    """The kernel's OOM-kill counter (/proc/vmstat oom_kill, Linux >= 4.13), or None."""
    try:
        with open("/proc/vmstat", "rb") as f:
            for line in f:
                if line.startswith(b"oom_kill "):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def child_exit_reason(exitcode, limits, completed, rss_bytes, max_rss_bytes):
    """What a child can say about its own exit, in worker_process_shutdown (before it exits)."""
    max_tasks = limits.get("maxTasksPerChild")
    max_mem_kb = limits.get("maxMemoryPerChildKb")
    if exitcode == EX_RECYCLE:
        if max_tasks and completed >= max_tasks:
            return {"reason": "max_tasks_per_child", "text": "recycled: ran max_tasks_per_child=%d tasks" % max_tasks}
        used_kb = max(rss_bytes or 0, 0) // 1024
        if max_mem_kb and used_kb > max_mem_kb:
            return {"reason": "max_memory_per_child",
                    "text": "recycled: RSS %d KiB over max_memory_per_child=%d KiB" % (used_kb, max_mem_kb)}
        return {"reason": "recycled", "text": "recycled by the pool (exit code 155)"}
    if exitcode in (0, None):
        return {"reason": "shutdown", "text": "exited normally (pool shrink or worker shutdown)"}
    return {"reason": "error", "text": "exited with code %s" % exitcode}


def main_exit_reason(exitcode, child_said, oom_rose):
    """The main process's verdict from the exit status billiard reaped, merged with the child's word."""
    if isinstance(exitcode, int) and exitcode < 0:
        sig = -exitcode
        try:
            name = _signal.Signals(sig).name
        except Exception:
            name = "signal %d" % sig
        if sig == 9 and oom_rose:
            return {"reason": "oom_killer", "signal": 9,
                    "text": "killed by the kernel's OOM killer (SIGKILL; the OOM-kill count in /proc/vmstat rose meanwhile)"}
        if sig == 9:
            return {"reason": "sigkill", "signal": 9,
                    "text": "killed by signal 9 (SIGKILL): probably the OOM killer (or kill -9); the report is from before"}
        return {"reason": "signal", "signal": sig, "text": "killed by signal %d (%s)" % (sig, name)}
    if child_said and child_said.get("reason"):
        return {"reason": child_said["reason"], "text": child_said.get("text") or child_said["reason"]}
    if exitcode == EX_RECYCLE:
        return {"reason": "recycled", "text": "recycled by the pool (exit code 155)"}
    if exitcode == 0:
        return {"reason": "shutdown", "text": "exited normally"}
    if exitcode is None:
        return {"reason": "unknown", "text": "the process is gone; its exit status was not seen"}
    return {"reason": "error", "text": "exited with code %d" % exitcode}


def _report_path(directory, pid):
    best = None
    try:
        for name in os.listdir(directory):
            p = reportfiles.parse_name(name)
            if p and p[0] == pid and (best is None or p[1] > best[0]):
                best = (p[1], name)
    except OSError:
        return None
    return os.path.join(directory, best[1]) if best else None


def record_exit(pid, exitcode, name=None, child_said=None):
    """Main process: note a child's exit in its last report and in the exit counters (once per pid)."""
    lock = _state["lock"]
    with lock:
        earlier = _state["seen"].get(pid)
        if earlier is not None and (earlier != "unknown" or exitcode is None):
            return None  # seen; only an "unknown" from the fallback watcher may be corrected by the pool hook
        if len(_state["seen"]) > 10000:
            _state["seen"] = {}
        _state["seen"][pid] = "pending"
    oom_now = oom_kill_count()
    oom_rose = oom_now is not None and _state["oom_kills"] is not None and oom_now > _state["oom_kills"]
    _state["oom_kills"] = oom_now
    rec = current()
    directory = rec.directory if rec else reportfiles.reports_dir()
    path = _report_path(directory, pid)
    doc = None
    if path:
        doc, _why = reportfiles.read_one(path)
    child_said = child_said or (doc or {}).get("exit")
    if child_said and child_said.get("by") != "child":
        child_said = child_said.get("childSaid")  # correcting the fallback's verdict: keep the child's word
    verdict = main_exit_reason(exitcode, child_said, oom_rose)
    verdict.update({"exitCode": exitcode, "at": round(time.time(), 3), "by": "main process",
                    "childSaid": child_said})
    reason = verdict["reason"] if verdict["reason"] in metrics.EXIT_REASONS else "unknown"
    with lock:
        if earlier == "unknown":
            _state["exits"]["unknown"] = max(0, _state["exits"].get("unknown", 0) - 1)
        _state["exits"][reason] = _state["exits"].get(reason, 0) + 1
        _state["seen"][pid] = reason
    if doc is not None:
        doc.pop("_file", None)
        doc["exit"] = verdict
        try:
            reportfiles.write_atomic(directory, os.path.basename(path), recorder.json_bytes(doc))
        except OSError as e:
            _log("could not record the exit of pid %d in its report: %s" % (pid, e))
    _log("pool child %s pid %d: %s" % (name or "", pid, verdict["text"]))
    return verdict


def _watch_children():
    """Main, every refresh: children that died without the pool hook seeing them (exit unknown)."""
    rec = current()
    if rec is None:
        return
    if _state["oom_kills"] is None:
        _state["oom_kills"] = oom_kill_count()
    foreign = _state.setdefault("foreign", set())  # pids whose report is another worker's: never read again
    reports, _notes = reportfiles.read_all(
        rec.directory, want_pid=lambda p: p not in foreign and p not in _state["seen"] and not reportfiles.alive(p))
    for r in reports:
        if r.get("ppid") != rec.pid:
            foreign.add(r["pid"])
    if len(foreign) > 10000:
        foreign.clear()
    reports = [r for r in reports if r.get("ppid") == rec.pid]
    now = time.time()
    gone = {}
    for r in reports:
        pid = r["pid"]
        if r.get("exit") and r["exit"].get("by") == "main process":
            continue
        if pid in _state["seen"] or reportfiles.alive(pid):
            continue
        gone[pid] = _state["dead_once"].get(pid, now)
        if now - gone[pid] >= FALLBACK_GRACE:  # long dead and the pool hook never told us
            said = r.get("exit")
            record_exit(pid, None, r.get("processName"), said)
    _state["dead_once"] = gone


# -- /metrics ----------------------------------------------------------------------------------
def _provide(server):
    rec = current()
    main = rec.last if rec else None
    directory = rec.directory if rec else reportfiles.reports_dir()
    reports, notes = reportfiles.read_all(directory, ppid=os.getpid(), want_pid=reportfiles.alive)
    children = [r for r in reports if not r.get("exit")]
    if notes and len(notes) != _state["skipped"]:
        for n in notes[:5]:
            _log("metrics: %s" % n)
    _state["skipped"] = len(notes)
    with _state["lock"]:
        exits = dict(_state["exits"])
    return metrics.render(main, children, exits, {"skipped": len(notes), "lastSeconds": server.last_seconds})


def start_metrics(address):
    try:
        host, port = metrics.parse_address(address)
    except ValueError as e:
        _log("/metrics not served: WORKERLENS_METRICS / --workerlens-metrics %s; the worker keeps running" % e)
        return None
    srv = metrics.MetricsServer(host, port, _provide).start()
    if srv is not None:
        _state["metrics"] = srv
        _log("metrics at http://%s:%d/metrics" % (("[%s]" % srv.host) if ":" in srv.host else srv.host, srv.port))
    return srv


# -- Celery signals ----------------------------------------------------------------------------
def _new_recorder(role, process_name, child_index):
    r = recorder.Recorder(role=role, process_name=process_name, child_index=child_index,
                          worker_name=_state["worker_name"], pool=_state["pool"], limits=_state["limits"])
    _state["recorder"] = r
    return r


def _on_process_init(**_kw):
    try:
        if not _state["enabled"] or os.getpid() == _state["main_pid"]:
            return
        name, index = None, None
        try:
            from billiard.process import current_process
            p = current_process()
            name, index = p.name, getattr(p, "index", None)
        except Exception:
            pass
        _state["metrics"] = None  # the main's server socket is not ours to serve
        _new_recorder("child", name, index if isinstance(index, int) else None).start()
    except Exception as e:
        _log("flight recorder not started in pool child: %s" % e)


def _on_process_shutdown(pid=None, exitcode=None, **_kw):
    try:
        rec = current()
        if rec is None or rec.role != "child":
            return
        from . import procinfo
        rss = max(procinfo.rss_bytes(), (rec.last or {}).get("rssBytes") or 0)
        said = child_exit_reason(exitcode, rec.limits, rec.tasks.completed, rss, 0)
        said.update({"exitCode": exitcode, "rssBytes": rss, "at": round(time.time(), 3), "by": "child"})
        rec.finish(said)
    except Exception:
        pass


def _on_prerun(task_id=None, task=None, **_kw):
    rec = current()
    if rec is not None:
        try:
            rec.tasks.begin(task_id, getattr(task, "name", None) or "?")
        except Exception:
            pass


def _on_postrun(task_id=None, state=None, **_kw):
    rec = current()
    if rec is not None:
        try:
            rec.tasks.end(task_id, failed=state not in (None, "SUCCESS"))
        except Exception:
            pass


def _on_task_done(stats, name, task_id, t0, seconds, delta, failed):
    """taskstats.on_end: the agent's measurement of a run, kept in the recorder's last runs."""
    rec = current()
    if rec is not None:
        log = rec.tasks
        if log.source is not stats:
            log.source = stats
        log.recent.append((name, task_id, t0, seconds, delta, failed))  # deque append: atomic


def _on_worker_ready(sender=None, **_kw):
    """Main: wrap the pool's on_process_down to see each child's exit status as billiard reaps it."""
    try:
        pool = getattr(getattr(sender, "pool", None), "_pool", None)
        orig = getattr(pool, "on_process_down", None)
        if pool is None or orig is None or getattr(orig, "_workerlens", False):
            return

        def on_process_down(proc):
            try:
                record_exit(proc.pid, proc.exitcode, getattr(proc, "name", None))
            except Exception:
                pass
            return orig(proc)
        on_process_down._workerlens = True
        pool.on_process_down = on_process_down
    except Exception as e:
        _log("child exit reasons come from the reports only: %s" % e)


def _on_worker_shutdown(**_kw):
    rec = current()
    if rec is not None and rec.role == "main":
        rec.finish({"reason": "shutdown", "text": "the worker shut down", "at": round(time.time(), 3), "by": "main process"})
    if _state["metrics"] is not None:
        _state["metrics"].stop()


def enable_for_worker(worker, metrics_address=None, recorder_on=True):
    """Main process, while the worker boots. Returns True when anything was enabled."""
    try:
        if _state["enabled"]:
            return True
        metrics_address = metrics_address or env_metrics()
        if not (recorder_on and recorder_wanted()) and not metrics_address:
            return False
        if not recorder_wanted():
            _log("WORKERLENS_RECORDER=0 ignored: /metrics reads the pool children's flight-recorder reports")
        from .celery import pool_kind
        _state.update(enabled=True, main_pid=os.getpid(), lock=originals().allocate_lock(),
                      pool=pool_kind(getattr(worker, "pool_cls", None) or ""),
                      worker_name=getattr(worker, "hostname", None),
                      limits={"maxTasksPerChild": _int_or_none(getattr(worker, "max_tasks_per_child", None)),
                              "maxMemoryPerChildKb": _int_or_none(getattr(worker, "max_memory_per_child", None))})
        if not _state["connected"]:
            from celery import signals
            _state["connected"] = True
            signals.worker_process_init.connect(_on_process_init, weak=False)
            signals.worker_process_shutdown.connect(_on_process_shutdown, weak=False)
            from . import celery as wl_celery
            if wl_celery._state["connected"]:
                # the agent's task stats feed the log (one measurement per run); where no agent runs
                # in a process, the agent's receivers call ours: one receiver per signal either way
                from . import taskstats
                taskstats.on_end[0] = _on_task_done
                wl_celery._also["prerun"], wl_celery._also["postrun"] = _on_prerun, _on_postrun
            else:
                signals.task_prerun.connect(_on_prerun, weak=False)
                signals.task_postrun.connect(_on_postrun, weak=False)
                from . import taskhooks
                taskhooks.install("task_prerun", _on_prerun)
                taskhooks.install("task_postrun", _on_postrun)
            signals.worker_ready.connect(_on_worker_ready, weak=False)
            signals.worker_shutdown.connect(_on_worker_shutdown, weak=False)
        rec = _new_recorder("main", "MainProcess", None)
        rec.on_refresh.append(_watch_children)
        rec.start()
        if metrics_address:
            start_metrics(metrics_address)
        return True
    except Exception as e:
        _log("telemetry not started: %s" % e)
        return False


def _int_or_none(v):
    try:
        return int(v) if v else None
    except (TypeError, ValueError):
        return None
