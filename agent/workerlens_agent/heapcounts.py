"""Python.getObjectCounts: live gc-tracked objects per type, in a few C-speed passes.

No user code runs: types are hashed by identity (a metaclass defining __hash__/__eq__ switches to
counting by id()), names come from type's own descriptors, sizes from safe.SizeOf. Fixed-size types
get exact sizes (count x shallow size); variable-size containers (dict, list, tuple, str...) get
count x the mean size of an evenly strided sample unless exactSizes is asked for (one more pass per type).
"""
import gc
import sys
import time
from collections import Counter
from itertools import compress, repeat
from operator import is_

from .safe import basicsize_of, flags_of, itemsize_of, module_of, mro_of, qualname, sizeof_is_c, typedict_of

_VARIABLE = (dict, list, set, frozenset, bytearray)
SAMPLE = 10000


def _metaclasses_hash_by_identity():
    """True when no metaclass defines __hash__ or __eq__ in Python (so Counter(types) is pure C)."""
    stack = [type]
    seen = set()
    while stack:
        meta = stack.pop()
        if id(meta) in seen:
            continue
        seen.add(id(meta))
        if meta is not type:
            d = typedict_of(meta)
            if "__hash__" in d or "__eq__" in d:
                return False
        try:
            stack.extend(type.__subclasses__(meta))
        except Exception:
            return False
    return True


def _is_variable(t):
    try:
        if not sizeof_is_c(t):
            return False
        if itemsize_of(t):
            return True
        mro = mro_of(t) or ()
        return any(b is m for b in _VARIABLE for m in mro)
    except Exception:
        return False


def object_counts(collect=False, limit=None, exact_sizes=False):
    if collect:
        gc.collect()
    t0 = time.perf_counter()
    objs = gc.get_objects()
    if _metaclasses_hash_by_identity():
        by_type = Counter(map(type, objs))
        pairs = [(t, n) for t, n in by_type.items()]
    else:
        types = list(map(type, objs))
        by_id = Counter(map(id, types))
        rep = dict(zip(map(id, types), types))
        pairs = [(rep[i], n) for i, n in by_id.items()]
        del types, rep
    n_objs = len(objs)
    variable = {}
    for t, n in pairs:
        if _is_variable(t):
            variable[id(t)] = [0, 0]  # sampled bytes, sampled count
    if variable:
        if exact_sizes:
            types_list = list(map(type, objs))
            for t, n in pairs:
                if id(t) in variable:
                    total = sum(map(sys.getsizeof, compress(objs, map(is_, types_list, repeat(t)))))
                    variable[id(t)] = [total, n]
            del types_list
        else:
            # every k-th object: a C-level slice (random.sample cost more than the whole count)
            picks = objs if n_objs <= SAMPLE else objs[::n_objs // SAMPLE]
            getsizeof = sys.getsizeof
            for o in picks:
                acc = variable.get(id(type(o)))
                if acc is not None:
                    acc[0] += getsizeof(o)
                    acc[1] += 1
    rows = []
    total_size = 0
    for t, n in pairs:
        acc = variable.get(id(t))
        if acc is not None and acc[1]:
            size = acc[0] * n // acc[1]
        else:
            size = _basic_size(t) * n  # fixed-size type: exact (basicsize + GC header) x count
        rows.append({"type": qualname(t), "module": module_of(t), "count": n, "size": int(size)})
        total_size += size
    del objs
    pause_ms = (time.perf_counter() - t0) * 1000.0
    rows.sort(key=lambda r: (-r["count"], r["type"]))
    if limit:
        rows = rows[: int(limit)]
    return {"counts": rows, "totalObjects": n_objs, "totalSize": int(total_size),
            "pauseMs": round(pause_ms, 3), "timestamp": time.time()}


def _basic_size(t):
    try:
        return basicsize_of(t) + (16 if flags_of(t) & (1 << 14) else 0)
    except Exception:
        return 0
