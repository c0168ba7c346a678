"""The one adapter between telemetry (metrics, flight recorder) and the memory breakdown.

The breakdown (Python.getMemoryBreakdown, memorybreakdown.py) may be absent from this agent build;
then telemetry exports RSS only and says so. Only the cheap parts are asked for: no walk over
untracked objects, no per-arena malloc_info; the caller passes the object counts it already took.
"""
try:
    from . import memorybreakdown as _mb
except Exception:  # not in this build (or it failed to import): RSS only
    _mb = None


def available():
    return _mb is not None


def parts(counts=None):
    """{'parts': {key: bytes}, 'how': {key: 'exact'|'estimated'}, 'rssBytes': n} or None when unavailable.

    Parts whose figure is unavailable are left out (their reason stays in Python.getMemoryBreakdown).
    """
    if _mb is None:
        return None
    try:
        b = _mb.breakdown(untracked=False, per_arena=False, counts=counts)
    except TypeError:  # an older signature without counts=
        b = _mb.breakdown(untracked=False, per_arena=False)
    out, how = {}, {}
    for p in b.get("parts") or ():
        if isinstance(p, dict) and isinstance(p.get("key"), str) and isinstance(p.get("bytes"), int):
            out[p["key"]] = p["bytes"]
            how[p["key"]] = p.get("how")
    return {"parts": out, "how": how, "rssBytes": b.get("rssBytes")}
