"""What the flight recorder's retainer paths (typepaths.py) add to its heavy refresh, at ~1M objects.

    /usr/bin/python3 bench/agent_recorder_paths.bench.py [ROUNDS=5]
A process holds ~1M gc-tracked objects (instances, dicts, lists) and three leaks: each round 20,000
more tasks.Payload go into the module list tasks.leaky_storage, 10,000 tasks.Session into the class
attribute Registry.sessions and 5,000 tasks.Row into the module dict tasks.cache (so the search has
its full load: 3 types x 5 instances). Figures, same run, best and median of
ROUNDS: the heavy refresh (counts + breakdown) with path search off (gc pauses fall in any of them); the search itself when it runs
(cache miss: the sampling pass over gc.get_objects() plus the gc.get_referrers hops); a refresh
whose paths come from the cache (within PATH_TTL); what that means per refresh and as a share of
wall time at the recorder's duty cycle. Peer, same heap: objgraph.find_backref_chain (Debian
python3-objgraph), the usual way to get one chain to a module, for one instance.
"""
import gc
import os
import shutil
import statistics
import sys
import tempfile
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "agent"))
from workerlens_agent import recorder, typepaths  # noqa: E402

tasks = types.ModuleType("tasks")
sys.modules["tasks"] = tasks
tasks.leaky_storage = []


class Payload(object):
    def __init__(self, i):
        self.order_id = i


class Session(object):
    pass


class Registry(object):
    sessions = []   # a class attribute


class Row(object):
    pass


for _c in (Payload, Session, Registry, Row):
    _c.__module__ = "tasks"
    setattr(tasks, _c.__name__, _c)
tasks.cache = {}


class Order(object):
    def __init__(self, i):
        self.i = i
        self.items = [i]


def build(n):
    out = []
    for i in range(n // 4):
        out.append(Order(i))
        out.append({"k": i, "v": [i]})
    return out


def ms(xs):
    return "best %.1f ms, median %.1f ms" % (min(xs) * 1000, statistics.median(xs) * 1000)


def leak(n):
    tasks.leaky_storage.extend(Payload(i) for i in range(n))
    Registry.sessions.extend(Session() for _ in range(n // 2))
    base = len(tasks.cache)
    tasks.cache.update(("row-%d" % (base + i), Row()) for i in range(n // 4))


def _timing(fn, out):
    def timed(*a):
        t0 = time.perf_counter()
        try:
            return fn(*a)
        finally:
            out.append(time.perf_counter() - t0)
    return timed


def heavy(rec):
    rec._next_counts = 0
    t0 = time.perf_counter()
    doc = rec.refresh()
    return time.perf_counter() - t0, doc


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    tmp = tempfile.mkdtemp(prefix="wl-bench-paths-")
    keep = build(1000000)
    leak(20000)
    print("heap: %d gc-tracked objects, Python %s" % (len(gc.get_objects()), sys.version.split()[0]))
    try:
        off, miss, hit, search, hit_annotate = [], [], [], [], []
        timed = []
        doc = None
        for _ in range(rounds):
            # paths off: the same refresh without the search (TOP=0)
            typepaths.TOP = 0
            r = recorder.Recorder(directory=os.path.join(tmp, "off"))
            r.refresh()
            leak(20000)
            off.append(heavy(r)[0])
            typepaths.TOP = 3
            # paths on: baseline, growth seen once, then the search runs (a cache miss), then a cached refresh
            r = recorder.Recorder(directory=os.path.join(tmp, "on"))
            r._paths.annotate = _timing(r._paths.annotate, timed)
            r.refresh()
            leak(20000)
            heavy(r)
            leak(20000)
            t, doc = heavy(r)
            miss.append(t)
            search.append(doc["objects"]["paths"]["costMs"] / 1000.0)
            leak(20000)
            hit.append(heavy(r)[0])
            hit_annotate.append(timed[-1])
        for top in doc["objects"]["growing"][:typepaths.TOP]:
            print("growing: %s +%d, %s (%s)" % (top["type"], top["growth"], top.get("pathText") or top.get("pathNote"),
                                                top.get("pathHow", "")))
        p = doc["objects"]["paths"]
        print("search: %d types, %d sampled instances, %d hops, stopped: %s" % (p["types"], p["instances"], p["hops"], p["stopped"]))
        print("heavy refresh, paths off:            %s" % ms(off))
        print("heavy refresh with a search (miss):  %s" % ms(miss))
        print("  the search itself (report costMs): %s" % ms(search))
        print("heavy refresh, paths from the cache: %s (of which the cached paths: %s)" % (ms(hit), ms(hit_annotate)))
        base = statistics.median(off)
        s = statistics.median(search)
        spacing = max(r.interval, (base + s) / recorder.COUNTS_DUTY)
        print("duty: with a search the next count waits %.1f s (%.1f s without); a search at most every %.0f s (PATH_TTL):"
              " %.3f %% of wall time, %.2f ms per 5 s refresh on average"
              % (spacing, max(r.interval, base / recorder.COUNTS_DUTY), typepaths.PATH_TTL,
                 100.0 * s / typepaths.PATH_TTL, 1000.0 * s * 5.0 / typepaths.PATH_TTL))
        try:
            import objgraph
        except ImportError:
            print("peer objgraph.find_backref_chain: not installed (Debian python3-objgraph)")
        else:
            target = tasks.leaky_storage[-1]
            t0 = time.perf_counter()
            chain = objgraph.find_backref_chain(target, objgraph.is_proper_module, max_depth=8)
            t = time.perf_counter() - t0
            print("peer objgraph.find_backref_chain, one instance: %.1f ms (chain of %d) -> ours %.1fx faster for 3 types x 5 instances"
                  % (t * 1000, len(chain), t / max(s, 1e-9)))
            del chain, target
    finally:
        del keep
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
