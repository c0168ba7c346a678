"""The real OS primitives, even under gevent/eventlet monkey-patching.

The agent must run in a real OS thread with a real socket: a greenlet server would only run when the
worker yields, and would freeze with it. Patched modules are detected and their originals taken.
"""
import os
import sys

import _thread
import select as _select_mod
import socket as _socket_mod
import time as _time_mod


def _original(module, name, default):
    """The unpatched module attribute: gevent/eventlet keep the originals even when they patch."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None:
        try:
            return monkey.get_original(module, name)
        except Exception:
            pass
    patcher = sys.modules.get("eventlet.patcher")
    if patcher is not None:
        try:
            return getattr(patcher.original(module), name)
        except Exception:
            pass
    return default


class Originals(object):
    """Unpatched callables, resolved when the agent starts (patching may happen after import)."""

    def __init__(self):
        self.start_new_thread = _original("_thread", "start_new_thread", _thread.start_new_thread)
        self.allocate_lock = _original("_thread", "allocate_lock", _thread.allocate_lock)
        self.get_ident = _original("_thread", "get_ident", _thread.get_ident)
        self.socket = _original("socket", "socket", _socket_mod.socket)
        self.select = _original("select", "select", _select_mod.select)
        self.sleep = _original("time", "sleep", _time_mod.sleep)
        self.fork = _original("os", "fork", os.fork) if hasattr(os, "fork") else None
        self.waitpid = _original("os", "waitpid", os.waitpid)

    def patched_by(self):
        """'gevent' / 'eventlet' when the socket module is monkey-patched, else None."""
        if _socket_mod.socket is not self.socket or _socket_mod.socket.__module__ != "socket":
            monkey = sys.modules.get("gevent.monkey")
            if monkey is not None and monkey.is_module_patched("socket"):
                return "gevent"
            return "eventlet" if "eventlet.patcher" in sys.modules else "patched"
        return None


_cached = None


def originals():
    global _cached
    if _cached is None:
        _cached = Originals()
    return _cached
