"""Process facts: identity, RSS, fds/sockets/threads. Cheap and user-code free (stacks: threadstacks.py)."""
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


def now():
    return time.time()
