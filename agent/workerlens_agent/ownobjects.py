"""The agent's own long-lived objects in the worker's heap, found by identity so the counts leave
them out (the Heap view would show them as the user's growth). Two kinds:

1. Frames whose locals the agent read in the worker.

On CPython <= 3.12 the first f_locals read of a running function makes a dict that stays attached to
its frame until the function returns: the agent's own object, counted by the gc as the worker's.
Where the agent must read locals in the worker (Python.getThreadStacks resolving a lock's holder,
the in-process snapshot fallback), it notes the frame's id here; each count then finds those frames
among the running ones (nothing else is held between counts: ints only, in a dict the gc never
tracks) and leaves out each one's dict. A frame no longer running is forgotten: its dict went with
it. Frame objects of running functions are not gc-tracked, so reading frames adds nothing itself.
3.13+ reads locals through a proxy that attaches nothing: nothing is noted there.

2. The flight recorder's latest report and its parts, baseline and retainer-path cache: dicts and
lists the agent built, replaced every tick, whose number changes with what the threads were doing
at the tick (e.g. during a snapshot). Walked from the recorder's attributes, exact dicts and lists
only (JSON data: nothing of the user's is in them).
A count made while the recorder builds its next report still sees that one (transient).

3. The agent's client connections and sessions (a view that connects adds a Connection, its
socket and lock, a Session): what they hold is the agent's, however many clients come and go.
"""
import gc
import sys
import types

_MADE = {}  # id(frame) -> True (ints only: untracked by the gc, never grows past the frames running)
CO_OPTIMIZED = 0x1
_current_frames = sys._current_frames


def note(frame, loc):
    """After reading frame.f_locals (loc): remembers the frame when the read attached a dict to it."""
    if type(loc) is dict and frame.f_code.co_flags & CO_OPTIMIZED:
        _MADE[id(frame)] = True


def attached():
    """The dicts the agent's reads attached to frames still running (their frames' f_locals, read
    again: the same dict, refreshed). Forgets frames that returned. [] quickly when none noted."""
    if not _MADE:
        return []
    out = []
    seen = {}
    try:
        for _ident, f in list(_current_frames().items()):
            depth = 0
            while f is not None and depth < 1000:
                k = id(f)
                if k in _MADE:
                    seen[k] = True
                    loc = f.f_locals
                    if type(loc) is dict:
                        out.append(loc)
                f = f.f_back
                depth += 1
    except Exception:
        return out
    for k in [k for k in _MADE if k not in seen]:
        _MADE.pop(k, None)
    return out


def _recorder_parts(out, seen):
    tel = sys.modules.get(__name__.rsplit(".", 1)[0] + ".telemetry")  # never imported from here
    rec = tel.current() if tel is not None else None
    if rec is None:
        return
    paths = getattr(rec, "_paths", None)  # typepaths.TypePaths: its cache of paths and last search
    stack = [getattr(rec, name, None) for name in ("last", "_counts", "_memory", "_baseline")]
    stack += [getattr(paths, name, None) for name in ("_cache", "last")]
    while stack and len(seen) < 100000:
        o = stack.pop()
        t = type(o)
        if (t is not dict and t is not list) or id(o) in seen:
            continue
        seen[id(o)] = True
        out.append(o)
        stack.extend(dict.values(o) if t is dict else o)


# what a connection's parts hold of their own (closures, bound methods, their cells and tuples)
_PART_TYPES = {types.FunctionType: True, types.MethodType: True, types.CellType: True, tuple: True, list: True, dict: True}


def _connection_parts(out, seen):
    """The agent's client connections and sessions (one per VS Code view or CLI attached): each
    Connection, its socket and send lock, each Session, and their instance dicts where the gc sees
    them. Their number follows how many clients are connected, not the worker."""
    pkg = __name__.rsplit(".", 1)[0]
    agent_mod = sys.modules.get(pkg + ".agent")  # never imported from here
    a = agent_mod.current() if agent_mod is not None else None
    if a is None:
        return
    srv = getattr(a, "server", None)
    conns = list(getattr(srv, "_connections", None) or ())  # copies of a set/list: one C call each
    sessions = list(getattr(a, "_sessions", None) or ())
    objs = conns + sessions
    for c in conns:
        objs.append(getattr(c, "sock", None))
        objs.append(getattr(c, "send_lock", None))
        parts = getattr(c, "ws_parts", None) or ()
        objs.append(parts)
        level = list(parts)  # the pending-bytes list, the recv closure and its cells, the frame reader and its bound methods
        for _depth in range(3):
            objs.extend(level)
            level = [r for r in gc.get_referents(*level) if type(r) in _PART_TYPES] if level else []
    for o in conns + sessions:
        # the instance dict, where one exists (<= 3.10, or materialized): never made here by reading __dict__
        objs.extend(r for r in gc.get_referents(o) if type(r) is dict)
    for o in objs:
        if o is not None and id(o) not in seen:
            seen[id(o)] = True
            out.append(o)


def tracked_by_type():
    """{id(type): how many} of the agent's own objects the gc tracks (the count sees only those):
    ints only, so nothing of it is among the objects counted next."""
    out = {}
    try:
        objs = attached()
        seen = {}
        for d in objs:
            seen[id(d)] = True
        _recorder_parts(objs, seen)
        _connection_parts(objs, seen)
        for o in objs:
            if gc.is_tracked(o):
                k = id(type(o))
                out[k] = out.get(k, 0) + 1
    except Exception:
        return {}
    return out
