"""Objects the gc does not track, and the containers that hold memory, with a retainer path each.

str, bytes, int, float and dicts/tuples holding only such values are not in gc.get_objects(): a
module dict of rendered strings can grow by gigabytes and no gc-based count sees it. Here they are
found as referents of the tracked objects (C traversal, chunked, deduplicated by id), then the
untracked dicts/tuples among them are expanded in turn. Containers (dict/list/set/deque, tracked or
not) with many items are ranked by the bytes they hold directly; each gets a retainer path up to a
named root (module global, class attribute, a thread's frame): retainerpaths.py. No user
code runs: lengths and items come from the C slots of the exact builtin types, sizes from
safe.SizeOf, names from str/int keys only.
"""
import collections
import gc
import sys
import time
import types
from itertools import chain, compress, filterfalse, repeat
from operator import is_

from . import gcobjects
from ._compat import originals
from .heapcounts import count_by
from .retainerpaths import AGENT, key_of as _key, module_dicts as _module_dicts, path_text as _text, retainer_paths
from .safe import SizeOf, module_of, qualname

MAX_UNTRACKED = 3000000   # walk stops (partial) beyond this many distinct untracked objects
CHUNK = 32768
SAMPLE = 20000
MIN_LEN = 64              # containers with fewer items are not ranked
MAX_CANDIDATES = 300
MAX_OWNED_ITEMS = 20000   # owned bytes of bigger containers come from a strided sample

_get_referents = gc.get_referents
_chain = chain.from_iterable
_dict_keys = dict.keys
_dict_values = dict.values
_is_tracked = gc.is_tracked
_deque = collections.deque
_CONTAINERS = (dict, list, set, frozenset, _deque, collections.OrderedDict, collections.defaultdict)
_LEN = {t: t.__len__ for t in _CONTAINERS}
_SHARED = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.CodeType)
_sizeof = SizeOf()

# containers reported last time, so their series continue even when they fall out of the top
_history = {}     # id -> id(type)
_paths = {}       # "id:id(type)" -> labels joined by NUL: str only, so the gc does not track it
_state_lock = originals().allocate_lock()


def _lock():
    return _state_lock


def _reset_sizeof():
    global _sizeof
    _sizeof = SizeOf()  # a fresh, empty (so untracked) cache; the old one is freed


def _mean_sizes(vals, types_list, pairs):
    """Bytes per type: count x mean of a strided sample (exact when there are few)."""
    n = len(vals)
    step = max(1, n // SAMPLE)
    acc = {}
    for o in vals[::step]:
        t = type(o)
        a = acc.get(id(t))
        if a is None:
            a = acc[id(t)] = [0, 0]
        a[0] += _sizeof(o)
        a[1] += 1
    out = []
    for t, c in pairs:
        a = acc.get(id(t))
        if a and a[1]:
            size = a[0] * c // a[1]
        else:
            size = _sizeof(next(compress(vals, map(is_, types_list, repeat(t))))) * c
        out.append((t, c, int(size)))
    return out


def walk(top=15, max_paths=5, max_untracked=MAX_UNTRACKED):
    t0 = time.perf_counter()
    # every tracked object but exact tuples and frozensets (the worker may still be filling one:
    # gcobjects), so this list may be kept across the chunked walk; their referents come in C
    objs = gcobjects.tracked_sturdy()
    tracked_types = list(map(type, objs))
    u = gcobjects.fragile_untracked_referents()
    found = dict(zip(map(id, u), u))
    del u
    partial = False
    for i in range(0, len(objs), CHUNK):
        u = list(filterfalse(_is_tracked, _get_referents(*objs[i:i + CHUNK])))
        found.update(zip(map(id, u), u))
        del u
        if len(found) > max_untracked:
            partial = True
            break
    if not partial:
        # a dict with str keys does not visit them in tp_traverse: take keys through the C view
        u = list(filterfalse(_is_tracked, _chain(map(_dict_keys, compress(objs, map(is_, tracked_types, repeat(dict)))))))
        found.update(zip(map(id, u), u))
        del u
    found.pop(id(found), None)  # itself: an untracked dict our own frame refers to
    # untracked dicts/tuples (holding only atomic values) hold more untracked objects
    frontier = list(found.values())
    for _round in range(4):
        ftypes = list(map(type, frontier))
        inner = list(compress(frontier, map(is_, ftypes, repeat(dict))))
        inner += compress(frontier, map(is_, ftypes, repeat(tuple)))
        del ftypes
        if not inner or partial:
            break
        refs = _get_referents(*inner)
        refs += _chain(map(_dict_keys, compress(inner, map(is_, map(type, inner), repeat(dict)))))
        new = [o for o in filterfalse(_is_tracked, refs) if id(o) not in found]
        del refs
        found.update(zip(map(id, new), new))
        frontier = new
        del inner
    del frontier
    vals = list(found.values())
    del found
    types_list = list(map(type, vals))
    by_type = count_by(map(id, types_list))
    rep = dict(zip(map(id, types_list), types_list))
    pairs = [(rep[i], c) for i, c in by_type.items()]
    sized = _mean_sizes(vals, types_list, pairs)
    walk_ms = (time.perf_counter() - t0) * 1000.0
    rows = [{"type": qualname(t), "module": module_of(t), "count": c, "size": s} for t, c, s in sized]
    rows.sort(key=lambda r: (-r["size"], r["type"]))
    total = sum(r["size"] for r in rows)
    n_untracked = len(vals)

    # containers: tracked ones from objs, untracked dicts from vals; not module namespaces (their
    # globals are containers of their own)
    t1 = time.perf_counter()
    module_dicts = set(_module_dicts())
    cands = []
    for kind in _CONTAINERS:
        ln = _LEN[kind]
        for pool, pool_types, tracked in ((objs, tracked_types, True), (vals, types_list, False)):
            if not tracked and kind is not dict:
                continue
            group = list(compress(pool, map(is_, pool_types, repeat(kind))))
            for c, n in zip(group, map(ln, group)):
                if n >= MIN_LEN and id(c) not in module_dicts:
                    cands.append((n, c, tracked))
            del group
    del tracked_types, types_list, rep, by_type, pairs
    with _lock():
        prev = dict(_history)
    cands.sort(key=lambda e: -e[0])
    keep = cands[:MAX_CANDIDATES]
    keep_ids = set(id(e[1]) for e in keep)
    keep += [e for e in cands[MAX_CANDIDATES:] if id(e[1]) in prev and id(e[1]) not in keep_ids]
    del cands
    del objs, vals
    scored = []
    for n, c, tracked in keep:
        owned, item_types = _owned(c, n)
        scored.append((owned, n, c, tracked, item_types))
    del keep
    scored.sort(key=lambda e: -e[0])
    chosen = scored[:top]
    chosen_ids = set(id(e[2]) for e in chosen)
    chosen += [e for e in scored[top:] if prev.get(id(e[2])) == id(type(e[2])) and id(e[2]) not in chosen_ids]
    del scored
    containers_ms = (time.perf_counter() - t1) * 1000.0

    t2 = time.perf_counter()
    need = [e[2] for e in chosen if _key(e[2]) not in _paths][:max_paths]
    if need:
        found_paths = retainer_paths(need, exclude=(id(chosen), id(need)))
        with _lock():
            if len(_paths) > 512:
                _paths.clear()
            for key, val in found_paths.items():
                _paths[key] = val
    del need
    paths_ms = (time.perf_counter() - t2) * 1000.0
    out_containers = []
    for owned, n, c, tracked, item_types in chosen:
        t = type(c)
        p = _paths.get(_key(c))
        if p == AGENT:
            continue
        p = (p.split("\x00"), _text(p.split("\x00"))) if p else None
        out_containers.append({
            "id": id(c), "type": qualname(t), "module": module_of(t), "length": n, "tracked": tracked,
            "shallowBytes": _sizeof(c), "ownedBytes": owned, "itemTypes": item_types,
            "path": list(p[0]) if p else None, "pathText": p[1] if p else None})
    with _lock():
        _history.clear()
        for owned, n, c, tracked, item_types in chosen[:64]:
            _history[id(c)] = id(type(c))
    del chosen
    _reset_sizeof()  # its per-type entries would stay behind as the agent's own objects
    return {"objects": n_untracked, "bytes": int(total), "partial": partial, "byType": rows[:50],
            "containers": out_containers,
            "costMs": {"walk": round(walk_ms, 3), "containers": round(containers_ms, 3), "paths": round(paths_ms, 3)}}


_FAST = (str, bytes, int, float, tuple, dict, list, bytearray, set)  # C __sizeof__, no user code
_getsizeof = sys.getsizeof


def _owned(c, n):
    """Shallow size + the sizes of the items it holds directly (types, modules, functions excluded):
    one C pass per common builtin type, SizeOf for the rest (a strided sample when there are many)."""
    base = _sizeof(c)
    if type(c) is dict or type(c) is collections.OrderedDict or type(c) is collections.defaultdict:
        refs = list(_dict_keys(c))   # str keys are not visited by tp_traverse
        refs += _dict_values(c)
    else:
        refs = _get_referents(c)
    step = 1
    if len(refs) > MAX_OWNED_ITEMS:
        step = len(refs) // MAX_OWNED_ITEMS
        refs = refs[::step]
    rtypes = list(map(type, refs))
    by_type = count_by(map(id, rtypes))
    total = 0
    counted = 0
    kinds = []
    for t in _FAST:
        k = by_type.get(id(t), 0)
        if k:
            total += sum(map(_getsizeof, compress(refs, map(is_, rtypes, repeat(t)))))
            counted += k
            kinds.append((k, qualname(t)))
    if counted < len(refs):
        rest = [r for r, rt in zip(refs, rtypes) if rt not in _FAST and rt not in _SHARED]
        if rest:
            rstep = max(1, len(rest) // 2000)
            total += sum(map(_sizeof, rest[::rstep])) * rstep
            names = count_by(qualname(type(r)) for r in rest[:2000])
            kinds += [(k, nm) for nm, k in names.items()]
        del rest
    del refs, rtypes
    kinds.sort(key=lambda e: -e[0])
    return base + total * step, [nm for _k, nm in kinds[:3]]
