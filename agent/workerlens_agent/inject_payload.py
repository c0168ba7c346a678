"""Runs inside the target after injection (gdb or sys.remote_exec): start the agent, marked injected.

Called from a wrapper that catches everything, in the target's main thread (pending call) or in a
fresh native thread the injector created (GIL taken with PyGILState_Ensure). Must be quick: it only starts threads.
"""
import os
import sys


def _celery_pool_from_argv(argv):
    for i, a in enumerate(argv):
        if a in ("-P", "--pool") and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--pool="):
            return a.split("=", 1)[1]
    return "prefork"


def _celery_name_from_argv(argv):
    for i, a in enumerate(argv):
        if a in ("-n", "--hostname") and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--hostname="):
            return a.split("=", 1)[1]
    return None


def detect():
    """(role, processName, pool, workerName) from billiard / Celery state when they are loaded."""
    role, name, pool, worker = "process", None, None, None
    bp = sys.modules.get("billiard.process")
    if bp is not None:
        try:
            name = bp.current_process().name
        except Exception:
            name = None
    argv = [str(a) for a in getattr(sys, "argv", [])]
    is_worker = "celery" in sys.modules and "worker" in argv
    if is_worker:
        from .celery import pool_kind
        pool = pool_kind(_celery_pool_from_argv(argv))
        worker = _celery_name_from_argv(argv)
        if name and name.startswith("ForkPoolWorker"):
            role = "child"
        else:
            role = "main"
            name = name or "MainProcess"
    return role, name, pool, worker


def run(force=False):
    from . import agent
    current = agent.current()
    if current is not None and not force:
        current.write_discovery()
        return current
    if current is not None:
        agent.stop()
    role, name, pool, worker = detect()
    a = agent.start(role=role, process_name=name, pool=pool, worker_name=worker, injected=True)
    if "celery.signals" in sys.modules:
        try:
            from .celery import connect_signals
            connect_signals()  # task stats from now on; children are not touched
        except Exception:
            pass
    return a


def main_wrapper(agent_dir, err_path, force):
    """Entry used by the injected one-liner; records any failure in err_path for the injector."""
    try:
        if agent_dir not in sys.path:
            sys.path.append(agent_dir)  # appended: never shadow the host's own modules
        a = run(force=force)
        if a.discovery_error:  # e.g. a full disk: say so instead of letting the injector time out
            raise OSError("could not write the discovery file: %s" % a.discovery_error)
        log = os.environ.get("WORKERLENS_DEBUG_LOG")
        if log:  # diagnostics for the injection tests: one line per payload execution
            import threading
            with open(log, "a") as f:
                f.write("%.6f thread=%s port=%s token=%s\n" % (__import__("time").time(), threading.current_thread().name,
                                                              a.server.port, a.token))
    except BaseException as e:  # noqa: B902 - nothing may escape into the host
        try:  # O_EXCL|O_NOFOLLOW: never write through a link someone planted
            fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            try:
                os.write(fd, ("%s: %s" % (type(e).__name__, e)).encode("utf-8", "replace"))
            finally:
                os.close(fd)
        except BaseException:
            pass
