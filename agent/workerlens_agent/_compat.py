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


def _gevent_original(module, name):
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None:
        return None
    try:
        if monkey.is_module_patched(module):
            return monkey.get_original(module, name)
    except Exception:
        return None
    return None


def _eventlet_original(module):
    patcher = sys.modules.get("eventlet.patcher")
    if patcher is None:
        return None
    try:
        if patcher.is_monkey_patched(module):
            return patcher.original(module)
    except Exception:
        return None
    return None


def _pick(module, name, default):
    value = _gevent_original(module, name)
    if value is not None:
        return value
    mod = _eventlet_original(module)
    if mod is not None:
        return getattr(mod, name, default)
    return default


class Originals(object):
    """Unpatched callables, resolved when the agent starts (patching may happen after import)."""

    def __init__(self):
        self.start_new_thread = _pick("thread", "start_new_thread", None) or _pick(
            "_thread", "start_new_thread", _thread.start_new_thread)
        self.allocate_lock = _pick("thread", "allocate_lock", None) or _pick(
            "_thread", "allocate_lock", _thread.allocate_lock)
        self.get_ident = _pick("thread", "get_ident", None) or _pick("_thread", "get_ident", _thread.get_ident)
        self.socket = _pick("socket", "socket", _socket_mod.socket)
        self.select = _pick("select", "select", _select_mod.select)
        self.sleep = _pick("time", "sleep", _time_mod.sleep)
        self.fork = _pick("os", "fork", os.fork) if hasattr(os, "fork") else None
        self.waitpid = _pick("os", "waitpid", os.waitpid)

    def patched_by(self):
        """'gevent' / 'eventlet' when the socket module is monkey-patched, else None."""
        if _gevent_original("socket", "socket") is not None:
            return "gevent"
        if _eventlet_original("socket") is not None:
            return "eventlet"
        return None


_cached = None


def originals():
    global _cached
    if _cached is None:
        _cached = Originals()
    return _cached
