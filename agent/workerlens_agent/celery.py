"""Celery integration: `celery -A proj worker --workerlens` or WORKERLENS=1.

    from workerlens_agent.celery import install
    install(app)     # adds the --workerlens worker option and a bootstep

The main process starts its agent when the worker boots; every prefork child starts its own on
`worker_process_init` (billiard forks after the bootstep, so children drop the inherited agent and
serve a new endpoint); threads/gevent/eventlet/solo pools run in one process and share one agent.
`task_prerun`/`task_postrun` feed Python.getTaskStats. Signal handlers are connected once per
process, only when the agent is enabled, and never raise into Celery.
"""
import os
import sys

_state = {"enabled": False, "connected": False, "pool": None, "worker_name": None, "main_pid": None}


def env_enabled():
    return os.environ.get("WORKERLENS", "").strip().lower() in ("1", "true", "yes", "on")


def pool_kind(pool_cls):
    """'prefork' | 'threads' | 'gevent' | 'eventlet' | 'solo' | 'custom' from the worker's pool class."""
    if isinstance(pool_cls, str):
        name = pool_cls
    else:
        name = "%s.%s" % (getattr(pool_cls, "__module__", ""), getattr(pool_cls, "__name__", ""))
    name = name.lower()
    for key, kind in (("prefork", "prefork"), ("processes", "prefork"), ("thread", "threads"),
                      ("gevent", "gevent"), ("eventlet", "eventlet"), ("solo", "solo")):
        if key in name:
            return kind
    return "custom"


def _start(role, process_name=None):
    try:
        from . import agent
        return agent.start(role=role, process_name=process_name, worker_name=_state["worker_name"],
                           pool=_state["pool"])
    except Exception as e:  # the worker must run even if the agent cannot
        sys.stderr.write("workerlens: agent not started: %s\n" % e)
        return None


_agent_state = []


def _current():
    """The process's agent, per task: no import, no getpid(). A forked child never sees its parent's
    agent here: the agent's os.register_at_fork hook clears it in the child; without that hook
    (no register_at_fork) agent.current() compares pids."""
    if not _agent_state:
        from . import agent
        _agent_state.append(agent._state if agent._state["hooks"] or not hasattr(os, "register_at_fork") else None)
        _agent_state.append(agent)
    st = _agent_state[0]
    if st is not None and st["hooks"]:
        return st["agent"]
    _agent_state[0] = None
    return _agent_state[1].current()


def _billiard_name():
    try:
        from billiard.process import current_process
        return current_process().name
    except Exception:
        return None


def _on_process_init(**_kw):
    if not _state["enabled"]:
        return
    if os.getpid() == _state["main_pid"]:  # solo pool: the signal fires in the main process
        return
    _start("child", _billiard_name())


def _on_process_shutdown(**_kw):
    try:
        from . import agent
        agent.stop()  # billiard children leave by os._exit: atexit would not remove the file
    except Exception:
        pass


def _on_worker_shutdown(**_kw):
    _on_process_shutdown()


_defaults = {}          # id(task) -> (perf time it expires, soft, hard): the task's or the app's limits
DEFAULTS_SECONDS = 10.0  # reading app.conf costs ~5 us a task (1 % of a cheap one): re-read every 10 s
_perf = None


def _task_defaults(task):
    """Fill the cache of the task's or the app's limits (in the task's thread: task and conf attributes
    are Celery's code, never run from the agent's threads)."""
    global _perf
    if _perf is None:
        import time
        _perf = time.perf_counter
    soft = getattr(task, "soft_time_limit", None)
    hard = getattr(task, "time_limit", None)
    if soft is None or hard is None:
        try:
            conf = task.app.conf
            soft = conf.task_soft_time_limit if soft is None else soft
            hard = conf.task_time_limit if hard is None else hard
        except Exception:
            pass
    if len(_defaults) > 1000:
        _defaults.clear()
    _defaults[id(task)] = (_perf() + DEFAULTS_SECONDS, soft, hard)


def _limits_of(task):
    """(soft, hard) seconds for a running task, asked by Python.getThreadStacks (any thread): the
    task's own or the app's (cached per task by the task's thread, refreshed after DEFAULTS_SECONDS;
    no Celery code runs here). A per-call override (apply_async(soft_time_limit=...)) is not seen:
    reading the request costs ~1 us per task, a quarter of the agent's budget for a cheap one."""
    soft = hard = None
    d = _defaults.get(id(task))
    if d is not None:
        if d[0] < _perf():
            _defaults.pop(id(task), None)  # the task's next run reads them again
        soft, hard = d[1], d[2]
    num = (int, float)
    return (soft if isinstance(soft, num) and soft > 0 else None, hard if isinstance(hard, num) and hard > 0 else None)


# The flight recorder's task hooks, for a process where the agent is not running (telemetry.py sets
# it): one receiver per signal. Where the agent runs, its task stats feed the recorder's log.
_also = {"prerun": None, "postrun": None}


def _on_prerun(task_id=None, task=None, **_kw):
    st = _agent_state[0] if _agent_state else None
    a = st["agent"] if st is not None and st["hooks"] else _current()  # _current's fast path, inline
    if a is not None:  # its task stats feed the flight recorder too (taskstats.on_end)
        try:
            if id(task) not in _defaults:
                _task_defaults(task)
            a.tasks.begin(task_id, getattr(task, "name", None) or "?", task)  # limits: _limits_of(task), when asked
        except Exception:
            pass
        return
    also = _also["prerun"]
    if also is not None:
        also(task_id=task_id, task=task)


def _on_postrun(task_id=None, state=None, **_kw):
    st = _agent_state[0] if _agent_state else None
    a = st["agent"] if st is not None and st["hooks"] else _current()
    if a is not None:
        try:
            a.tasks.end(task_id, state is not None and state != "SUCCESS")
        except Exception:
            pass
        return
    also = _also["postrun"]
    if also is not None:
        also(task_id=task_id, state=state)


def connect_signals():
    if _state["connected"]:
        return
    from celery import signals
    _state["connected"] = True
    signals.worker_process_init.connect(_on_process_init, weak=False)
    signals.worker_process_shutdown.connect(_on_process_shutdown, weak=False)
    signals.worker_shutdown.connect(_on_worker_shutdown, weak=False)
    signals.task_prerun.connect(_on_prerun, weak=False)
    signals.task_postrun.connect(_on_postrun, weak=False)
    from . import taskhooks, taskstats  # Celery's tracer calls them directly while they are the only receivers
    taskstats.limits_of[0] = _limits_of
    taskhooks.install("task_prerun", _on_prerun)
    taskhooks.install("task_postrun", _on_postrun)


def enable_for_worker(worker):
    """Called once in the worker's main process while it boots (bootstep or worker_init signal)."""
    if _state["enabled"]:
        return
    _state["enabled"] = True
    _state["main_pid"] = os.getpid()
    _state["pool"] = pool_kind(getattr(worker, "pool_cls", None) or "")
    _state["worker_name"] = getattr(worker, "hostname", None)
    connect_signals()
    _start("main", "MainProcess")


def install(app):
    """Add `--workerlens` to `celery worker` and a bootstep that starts the agent (also on WORKERLENS=1)."""
    from celery import bootsteps

    class WorkerLens(bootsteps.Step):
        """Starts the Worker Lens agent (main process now, prefork children on worker_process_init)."""
        name = "workerlens"

        def __init__(self, parent, workerlens=False, workerlens_metrics=None, **kwargs):
            super(WorkerLens, self).__init__(parent, **kwargs)
            if workerlens or env_enabled():
                enable_for_worker(parent)
            _telemetry(parent, workerlens or env_enabled(), workerlens_metrics)

    try:
        from click import Option
        app.user_options["worker"].add(Option(
            ("--workerlens",), is_flag=True, default=False,
            help="Serve a Worker Lens (Chrome DevTools Protocol) endpoint in the main process and every pool child."))
        app.user_options["worker"].add(Option(
            ("--workerlens-metrics",), default=None, metavar="HOST:PORT",
            help="Serve Prometheus /metrics for the worker and its pool children (also WORKERLENS_METRICS)."))
    except ImportError:  # Celery 4: argparse-style user options
        app.user_options["worker"].add(lambda parser: parser.add_argument(
            "--workerlens", action="store_true", default=False, help="Serve a Worker Lens endpoint."))
        app.user_options["worker"].add(lambda parser: parser.add_argument(
            "--workerlens-metrics", default=None, help="Serve Prometheus /metrics at HOST:PORT."))
    app.steps["worker"].add(WorkerLens)
    _register_fleet()
    return app


def _register_fleet():
    """The `workerlens_fleet` remote-control command (fleet.py); never fatal for the worker."""
    try:
        from .fleet import register
        register()
    except Exception as e:
        sys.stderr.write("workerlens: fleet command not registered: %s\n" % e)


def on_worker_init(sender=None, **_kw):
    """worker_init handler for the WORKERLENS=1 autostart hook (apps that never call install())."""
    if env_enabled():
        _register_fleet()
        enable_for_worker(sender)
    _telemetry(sender, env_enabled(), None)


def _telemetry(worker, recorder_on, metrics_address):
    """Flight recorder (with the agent) and /metrics (opt-in): telemetry.py."""
    try:
        from . import telemetry
        telemetry.enable_for_worker(worker, metrics_address=metrics_address, recorder_on=recorder_on)
    except Exception as e:
        sys.stderr.write("workerlens: telemetry not started: %s\n" % e)
