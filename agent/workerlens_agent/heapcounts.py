"""Python.getObjectCounts: live gc-tracked objects per type, in a few C-speed passes.

No user code runs: types are hashed by identity (a metaclass defining __hash__/__eq__ switches to
counting by id()), names come from type's own descriptors, sizes from safe.SizeOf. Fixed-size types
get exact sizes (count x shallow size); variable-size containers (dict, list, tuple, str...) get
count x the mean size of an evenly strided sample unless exactSizes is asked for (every one of them).
The objects are read through gcobjects (never held across a bytecode: see there why). Dicts the
agent's own f_locals reads attached to running frames are left out (ownobjects; said in ownExcluded).
"""
import gc
import sys
import time
from itertools import compress
try:
    from collections import _count_elements  # the C loop behind Counter, without its isinstance(Mapping)
except ImportError:  # pragma: no cover - every CPython 3.x has it
    def _count_elements(mapping, iterable):
        for e in iterable:
            mapping[e] = mapping.get(e, 0) + 1

from . import gcobjects, ownobjects
from .safe import fixed_size, hashes_by_identity, uses_object_sizeof, itemsize_of, module_of, mro_of, qualname, sizeof_is_c

_VARIABLE = (dict, list, set, frozenset, bytearray)


def count_by(iterable):
    """{element: count} in C. Not Counter(): its isinstance(x, Mapping) fills ABC caches with weakrefs
    (the agent's own objects, which then showed as growth right after attach)."""
    d = {}
    _count_elements(d, iterable)
    return d
SAMPLE = 10000  # strided picks sized per count (containers' mean size; typed and sized in C)
# The sample is most of a count's pause at small heaps (10,000 picks ~5 ms; the count of 30k objects
# ~2 ms), and mean sizes move slowly: a count samples them only when the last sample is SIZES_EVERY
# counts or SIZES_SECONDS old; the counts between reuse its mean per type (count x that mean).
# Stored as ints keyed by id(type), checked against id(type.__mro__) as _meta_of checks.
SIZES_EVERY = 5
SIZES_SECONDS = 10.0
_mean_bytes, _mean_n, _mean_check = {}, {}, {}
_sizes_at = [0.0, 0]  # unix time of the last sampled count, counts since


def _metaclasses_hash_by_identity():
    """True when no metaclass defines or inherits (from a mixin) its own __hash__ or __eq__, so
    counting types runs pure C. Walks type's subclasses: only metaclasses, a few dozen at most."""
    stack = [type]
    seen = set()
    while stack:
        meta = stack.pop()
        if id(meta) in seen:
            continue
        seen.add(id(meta))
        try:
            if meta is not type and not hashes_by_identity(meta):
                return False
            stack.extend(type.__subclasses__(meta))
        except Exception:
            return False
    return True


# What a count needs of each type (qualname, module, variable-size?, fixed size), cached between
# counts: reading it costs ~2 us a type, and a worker has thousands of types (the per-type part was
# most of a count's pause at small heaps). Keyed by id(type) and checked against id(type.__mro__),
# so a type freed and another one allocated at its address is read afresh; the whole cache is
# dropped every META_SECONDS (a class whose __sizeof__ is replaced is read again then). Only ints
# and strs are stored: dicts the gc never tracks (nothing of it shows in the counts).
META_SECONDS = 30.0
_meta_name, _meta_module, _meta_bits, _meta_check = {}, {}, {}, {}
_meta_at = [0.0]


def _type_meta():
    now = time.time()
    if now - _meta_at[0] > META_SECONDS or len(_meta_check) > 50000:
        for d in (_meta_name, _meta_module, _meta_bits, _meta_check):
            d.clear()
        _meta_at[0] = now
    return _meta_of


def _meta_of(t):
    k = id(t)
    try:
        check = id(mro_of(t))
    except Exception:
        check = -1
    if check != -1 and _meta_check.get(k) == check:
        bits = _meta_bits[k]
        return _meta_name[k], _meta_module[k], bits & 1, bits >> 1
    name, module, variable, basic = qualname(t), module_of(t), _is_variable(t), _basic_size(t)
    if check != -1:
        _meta_name[k], _meta_module[k], _meta_bits[k] = name, module, basic * 2 + (1 if variable else 0)
        _meta_check[k] = check
    return name, module, variable, basic


def _is_variable(t):
    try:
        if not sizeof_is_c(t):
            return False
        if itemsize_of(t) or not uses_object_sizeof(t):
            return True  # its own C __sizeof__ (deque, BufferedReader...) may differ per instance
        mro = mro_of(t) or ()
        return any(b is m for b in _VARIABLE for m in mro)
    except Exception:
        return False


def object_counts(collect=False, limit=None, exact_sizes=False):
    if collect:
        gc.collect()
    t0 = time.perf_counter()
    # gc.get_objects()'s list lives only inside gcobjects' C calls: it may hold a tuple the worker
    # is still filling, which must never be held when the GIL goes back to the worker
    by_identity = _metaclasses_hash_by_identity()
    # the agent's own objects (dicts its f_locals reads attached to running frames, the recorder's
    # report): not the user's. Found first (that read refreshes the frames' dicts) and kept as
    # numbers per type: no list of them during the pass.
    own = ownobjects.tracked_by_type()
    # one gc.get_objects() pass: counts and an evenly strided sample (stride from the last total)
    now = time.time()
    sampling = (exact_sizes or collect or not _mean_check or _sizes_at[1] + 1 >= SIZES_EVERY
                or now - _sizes_at[0] >= SIZES_SECONDS)
    guess = _last[0] or gcobjects.total()
    # between samples the pass is the same (the same C machinery exists during it, so counts with and
    # without a sample see the same agent objects), its sample one or two picks, left unused
    step = max(1, guess // SAMPLE) if sampling else guess + 1
    counted, picks, frag_types, frag_sizes = gcobjects.counts_and_sample(step, by_type=by_identity)
    if by_identity:
        pairs = [(t, n) for t, n in counted.items()]
    else:
        by_id = count_by(map(id, counted))
        rep = dict(zip(map(id, counted), counted))
        pairs = [(rep[i], n) for i, n in by_id.items()]
        del rep
    del counted
    n_objs = sum(n for _t, n in pairs)
    variable = {}
    meta = _type_meta()
    metas = [meta(t) for t, _n in pairs]  # (name, module, variable, basic size) per type, cached
    for (t, n), m in zip(pairs, metas):
        if m[2]:
            variable[id(t)] = [0, 0]  # sampled bytes, sampled count
    if variable and not sampling:  # the last sample's means (a type it did not see: basic size)
        for k, acc in variable.items():
            if k in _mean_check and _meta_check.get(k) == _mean_check[k]:
                acc[0], acc[1] = _mean_bytes[k], _mean_n[k]
    if variable and exact_sizes:
        del picks
        try:  # every object of a variable type, sized in C: only ints and types come back
            picks, sizes = gcobjects.sizes_of(dict.fromkeys(variable, True))
        except Exception:  # a C __sizeof__ that raises: fixed sizes for every type
            picks, sizes = [], []
        for t, size in zip(picks, sizes):
            acc = variable[id(t)]
            acc[0] += size
            acc[1] += 1
        del picks, sizes
    elif variable and sampling:
        # the sample: exact tuples/frozensets were sized inside the C call (never held); the rest
        # is held safely and sized here
        for t, size in zip(frag_types, frag_sizes):
            acc = variable.get(id(t))
            if acc is not None:
                acc[0] += size
                acc[1] += 1
        # only the picks of variable types, their types and sizes listed in C; summed per type here
        picks = list(compress(picks, map(variable.__contains__, map(id, map(type, picks)))))
        types = list(map(type, picks))
        try:
            sizes = list(map(sys.getsizeof, picks))
        except Exception:  # a C __sizeof__ that raises: one by one, fixed size for those
            sizes = [_size_or_basic(o) for o in picks]
        del picks
        for t, size in zip(types, sizes):
            acc = variable[id(t)]
            acc[0] += size
            acc[1] += 1
        del types, sizes
    if sampling and not exact_sizes:
        for d in (_mean_bytes, _mean_n, _mean_check):
            d.clear()
        for k, acc in variable.items():
            if acc[1] and k in _meta_check:
                _mean_bytes[k], _mean_n[k], _mean_check[k] = acc[0], acc[1], _meta_check[k]
        _sizes_at[0], _sizes_at[1] = now, 0
    elif not sampling:
        _sizes_at[1] += 1
    n_objs -= sum(own.values())
    rows = []
    total_size = 0
    for (t, n), m in zip(pairs, metas):
        acc = variable.get(id(t))
        if own and id(t) in own:
            n = max(0, n - own[id(t)])  # size: the mean of those measured x those left
        if acc is not None and acc[1]:
            size = acc[0] * n // acc[1]
        else:
            size = m[3] * n  # fixed-size type: exact (sys.getsizeof of one) x count
        rows.append({"type": m[0], "module": m[1], "count": n, "size": int(size),
                     "sizeSampled": bool(acc is not None and not exact_sizes and n > acc[1])})
        total_size += size
    pause_ms = (time.perf_counter() - t0) * 1000.0
    rows.sort(key=lambda r: (-r["count"], r["type"]))
    if limit:
        rows = rows[: int(limit)]
    _last[0], _last[1], _last[2] = n_objs, int(total_size), now
    out = {"counts": rows, "totalObjects": n_objs, "totalSize": int(total_size),
           "pauseMs": round(pause_ms, 3), "timestamp": now, "sizesSampledAt": _sizes_at[0] if not exact_sizes else now}
    if own:
        out["ownExcluded"] = dict((name, n) for name, n in (("dict", own.get(id(dict), 0)), ("list", own.get(id(list), 0))) if n)
    return out


_last = [0, 0, 0.0]  # totalObjects, totalSize, unix time of the last count (numbers only)


def recent_totals(max_age=3.0):
    """(totalObjects, totalSize, age s) of a count made in the last max_age seconds, else None: the
    memory breakdown reuses it instead of a second pass (the Heap view asks for both each refresh)."""
    age = time.time() - _last[2]
    return (_last[0], _last[1], age) if 0 <= age <= max_age else None


def _size_or_basic(o):
    try:
        return sys.getsizeof(o)
    except Exception:
        return _basic_size(type(o))


def _basic_size(t):
    try:
        return fixed_size(t)
    except Exception:
        return 0


def warm_up():
    """Import and resolve now what the first count, breakdown or snapshot would (modules, ctypes
    symbols, struct formats), so an attach or a first snapshot never shows as growth."""
    try:
        from . import memorybreakdown, snapshot, untracked  # noqa: F401
        memorybreakdown.warm_up()
        import struct
        for fmt in ("!BB", "!BBH", "!BBQ", "!H", "!Q", "!I", "!QQ", "!QQQQ"):  # websocket, snapshot
            struct.calcsize(fmt)
        # the snapshot reads its child's pipe through os.fdopen: CPython <= 3.11 builds io.open's
        # keyword-names tuple on its first such call and keeps it (a tuple +1 after a first snapshot)
        import os
        r, w = os.pipe()
        os.close(w)
        with os.fdopen(r, "rb", buffering=0) as f:
            f.read()
    except Exception:
        pass
