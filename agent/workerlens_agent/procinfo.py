"""Process facts: identity, RSS, fds/sockets/threads, thread stacks. Cheap and user-code free."""
import os
import sys
import threading
import time

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes():
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except Exception:
        try:
            import resource
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        except Exception:
            return 0


def resource_counts():
    fds = sockets = 0
    try:
        for name in os.listdir("/proc/self/fd"):
            fds += 1
            try:
                if os.readlink("/proc/self/fd/" + name).startswith("socket:"):
                    sockets += 1
            except OSError:
                pass
    except OSError:
        pass
    try:
        threads = len(os.listdir("/proc/self/task"))
    except OSError:
        threads = threading.active_count()
    return {"fds": fds, "sockets": sockets, "threads": threads, "rssBytes": rss_bytes()}


def python_version():
    v = sys.version_info
    return "%d.%d.%d" % (v[0], v[1], v[2])


def thread_stacks(agent_idents, max_frames=200):
    """Every thread's frames, innermost first; names from threading's registry (plain dict reads)."""
    names = {}
    daemons = {}
    try:
        for t in list(threading._active.values()):  # no locks taken, no user code
            names[t.ident] = t.name
            daemons[t.ident] = t.daemon
    except Exception:
        pass
    out = []
    for ident, frame in sys._current_frames().items():
        frames = []
        f = frame
        while f is not None and len(frames) < max_frames:
            code = f.f_code
            frames.append({"functionName": code.co_name, "url": code.co_filename,
                           "lineNumber": max(0, (f.f_lineno or 1) - 1)})
            f = f.f_back
        out.append({"threadId": ident, "name": names.get(ident, "thread-%d" % ident),
                    "daemon": bool(daemons.get(ident, False)), "isAgent": ident in agent_idents,
                    "frames": frames})
    out.sort(key=lambda t: (t["isAgent"], t["threadId"]))
    return {"threads": out}


def now():
    return time.time()
