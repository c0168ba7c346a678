"""A retainer path for each of the flight recorder's top growing types: "tasks.Payload is held by
tasks.leaky_storage[1234]", found from a few sampled instances by gc.get_referrers (retainerpaths.py).

Which instances: the last PER_TYPE of the type in gc.get_objects() order (gcobjects.last_of_types,
looking at the last WINDOW objects first, so the cost does not grow with the heap).
That list runs youngest generation first, and each generation from its oldest object to its newest,
so the last ones are the instances most recently promoted into the oldest generation holding the
type: they survived collections (a running task's temporaries rarely do) and arrived recently, which
is what a leak's objects look like. The path reported is the one most of them share (list indices
aside), with how many do.

Bounded: only the first TOP growing types, only once their growth is seen in two counts in a row
(the count rose again since the previous count), at most MAX_DEPTH hops of MAX_FRONTIER referrers,
a deadline of BUDGET_S checked between hops, and a found path (or a note) is reused for PATH_TTL
(NOTE_TTL) seconds instead of searching again. The cache holds strings and numbers only: no
instance outlives a search. No user code runs (see retainerpaths and gcobjects).
"""
import time

from . import gcobjects, retainerpaths
from .safe import module_of, qualname

TOP = 3
PER_TYPE = 5
MAX_DEPTH = 8
MAX_FRONTIER = 50        # each hop costs about all objects x referents x len(frontier)
MAX_REFERRERS = 20000    # referrers kept per hop
WINDOW = 100000          # instances are looked for among the last WINDOW objects first
BUDGET_S = 0.5          # seconds; checked between hops (one hop at 1M objects: 20-60 ms here)
PATH_TTL = 120.0
NOTE_TTL = 30.0
MAX_CLASSES = 200000     # the class walk stops there (a process with more classes gets a note)

_FRAGILE_NAMES = ("tuple", "frozenset")


def type_name(module, name):
    """The name the recorder's report uses: "tasks.Payload", "dict" for builtins."""
    return (module + "." + name) if module and module != "builtins" else name


def _classes_named(names):
    """{name: [classes]} for the wanted names, from a walk of type.__subclasses__ down from object
    (C calls; names through safe's descriptors, so no metaclass code runs)."""
    out = {}
    subclasses = type.__subclasses__
    stack = [object]
    seen = set()
    while stack and len(seen) < MAX_CLASSES:
        c = stack.pop()
        if id(c) in seen:
            continue
        seen.add(id(c))
        n = type_name(module_of(c), qualname(c))
        if n in names:
            out.setdefault(n, []).append(c)
        try:
            stack.extend(subclasses(c))
        except Exception:
            pass
    return out


def _shape(labels):
    """The path with subscripts blanked: instances in one list, or under keys of one dict, share it."""
    return "\x00".join("[…]" if lab.startswith("[") else lab for lab in labels)


class TypePaths(object):
    def __init__(self):
        self._cache = {}     # type name -> {"pathAt", "path"|None, "pathText", "pathHow" | "pathNote"}
        self.last = None     # the last search: {"at", "costMs", "types", "instances", "hops", "stopped"}

    def annotate(self, growing, previous, now):
        """Adds path/pathText/pathHow/pathAt, or path None with pathNote, to the first TOP entries of
        `growing` ([{"type", "count", "growth"}]). previous: {type name: count} of the types that were
        growing at the previous count (a type is searched when its count rose again since). Returns
        the seconds spent searching (0 when nothing was searched)."""
        todo = []
        for g in growing[:TOP]:
            name = g["type"]
            if name in _FRAGILE_NAMES:
                g.update(path=None, pathNote="exact %ss are never held by the agent (the worker may be filling one): "
                                             "no path is searched" % name)
                continue
            hit = self._cache.get(name)
            if hit is not None and now - hit["pathAt"] < (PATH_TTL if hit["path"] else NOTE_TTL):
                g.update(hit)
                continue
            before = previous.get(name)
            if before is None or g["count"] <= before:
                g.update(path=None, pathNote="growth seen in one count so far: a path is searched once the count "
                                             "rises again at the next count")
                continue
            todo.append(g)
        if not todo:
            return 0.0
        t0 = time.perf_counter()
        try:
            found = self._search([g["type"] for g in todo], dict((g["type"], g["count"]) for g in todo), t0 + BUDGET_S)
        except Exception as e:  # never into the worker; say so in the report
            found = dict((g["type"], {"path": None, "pathNote": "the path search failed: %s" % str(e)[:160]})
                         for g in todo)
        cost = time.perf_counter() - t0
        self.last = dict(self.last or {}, at=round(now, 3), costMs=round(cost * 1000.0, 3))
        if len(self._cache) > 64:
            self._cache.clear()
        for g in todo:
            entry = found.get(g["type"]) or {"path": None, "pathNote": "not searched"}
            entry = dict(entry, pathAt=round(now, 3))
            self._cache[g["type"]] = entry
            g.update(entry)
        return cost

    def _search(self, names, counts, deadline):
        wanted = set(names)
        classes = _classes_named(wanted)
        out = {}
        ids = {}
        for n in names:
            if not classes.get(n):
                out[n] = {"path": None, "pathNote": "the class was not found among the live classes (gone since the count?)"}
            for c in classes.get(n, ()):
                ids[id(c)] = n
        # the tail first (WINDOW objects: the newest survivors are there); a full pass only for the
        # types it did not hold PER_TYPE instances of (or all of theirs)
        picks = gcobjects.last_of_types(list(ids), PER_TYPE, window=WINDOW)
        short = [i for i, d in picks.items() if len(d) < min(PER_TYPE, counts.get(ids[i], PER_TYPE))]
        if short:
            more = gcobjects.last_of_types(short, PER_TYPE)
            for i in short:
                picks[i].clear()
            picks.update(more)
            more.clear()
        classes = None
        own = set(map(id, picks.values()))
        own.add(id(picks))
        if short:
            own.add(id(more))
        targets = []           # a list, never a tuple: a tuple holding them would read as a tuple referrer
        by_name = {}
        for tid, d in list(picks.items()):
            for o in reversed(d):   # newest first
                if id(o) not in own:
                    targets.append(o)
                    by_name.setdefault(ids[tid], []).append(id(o))
            d.clear()
        picks.clear()
        try:
            res = retainerpaths.search(targets, exclude=own | {id(by_name)}, max_depth=MAX_DEPTH,
                                       max_frontier=MAX_FRONTIER, deadline=deadline, max_referrers=MAX_REFERRERS)
        finally:
            del targets[:]
        self.last = {"types": len(names), "instances": sum(len(v) for v in by_name.values()), "hops": res.hops,
                     "stopped": res.stopped}
        for n in names:
            if n in out:
                continue
            inst = by_name.get(n, [])
            out[n] = _verdict(inst, res)
        return out


def _verdict(inst, res):
    """One type's path (the one most sampled instances share) or the note saying why there is none."""
    if not inst:
        return {"path": None, "pathNote": "no live instance when sampled (freed since the count)"}
    groups = {}
    agent = 0
    for i in inst:
        p = res.paths.get(i)
        if p is None:
            continue
        if p == retainerpaths.AGENT:
            agent += 1
            continue
        groups.setdefault(_shape(p.split("\x00")), []).append(p)
    if groups:
        best = max(groups.values(), key=len)   # ties: the group of the newest instance (dicts keep order)
        labels = best[0].split("\x00")
        return {"path": labels, "pathText": retainerpaths.path_text(labels),
                "pathHow": "one path from %d sampled instance%s (the newest survivors), by gc referrers; "
                           "shared by %d of them" % (len(inst), "" if len(inst) == 1 else "s", len(best))}
    if any(i in res.via_fragile for i in inst):
        note = ("reached only through tuples/frozensets, which the agent never holds (the worker may be filling "
                "one): no path from %d sampled instance%s" % (len(inst), "" if len(inst) == 1 else "s"))
    elif res.stopped == "time":
        note = "skipped for cost: the search stopped at its %d ms budget before reaching a named root" % (BUDGET_S * 1000)
    elif res.stopped in ("depth", "frontier"):
        note = ("not reached within %d hops (following at most %d referrers a hop) from %d sampled instances "
                "(instances in garbage cycles awaiting a collection end here too)" % (MAX_DEPTH, MAX_FRONTIER, len(inst)))
    elif agent:
        note = "held only by Worker Lens' own objects"
    else:
        note = ("no named root holds the %d sampled instances (garbage waiting for a collection, or held from C code)"
                % len(inst))
    return {"path": None, "pathNote": note}
