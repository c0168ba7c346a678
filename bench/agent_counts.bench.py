"""Python.getObjectCounts pause at 100k and 1M objects, against objgraph.typestats in the same run;
beside it, what the memory breakdown adds to a refresh and the untracked walk's pause.

    /usr/bin/python3 bench/agent_counts.bench.py
Goals (issues 3, 14): counts <= 60 ms per 1M objects (floor: a bare gc.get_objects() walk, and
the plainest stdlib count, Counter(map(type, gc.get_objects())), which is what one pass must do);
issue 12: the breakdown adds <= 10 ms to a refresh; the untracked walk (its own slower cadence)
is reported beside the counts. Pause = wall time of the call, which holds the GIL.
"""
import gc
import os
import statistics
import sys
import time
from collections import Counter

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "agent"))
from workerlens_agent import heapcounts, memorybreakdown, untracked  # noqa: E402

try:
    import objgraph
except ImportError:
    objgraph = None


class Payload(object):
    def __init__(self, i):
        self.order_id = i
        self.items = [i]


def build(n):
    """About n gc-tracked objects: instances, their lists, dicts, tuples; plus untracked strings."""
    out = []
    for i in range(n // 4):
        out.append(Payload(i))
        out.append({"k": i, "v": [i], "s": "value-%d" % i})
    return out


def stall(fn):
    """Longest time another Python thread waited for the GIL while fn ran: the worker's real pause
    (the GIL changes hands between C calls, so a chunked walk pauses less than its wall time)."""
    import threading
    state = {"run": True, "max": 0.0}

    def ticker():
        last = time.perf_counter()
        while state["run"]:
            time.sleep(0.0005)
            now = time.perf_counter()
            state["max"] = max(state["max"], now - last)
            last = now
    t = threading.Thread(target=ticker)
    t.start()
    time.sleep(0.01)
    state["max"] = 0.0
    fn()
    state["run"] = False
    t.join()
    return state["max"] * 1000.0


def timed(fn, repeat=5):
    """(median wall ms, min wall ms, median CPU ms): CPU time (this process, time.process_time) is
    what the call itself costs; wall time also holds whatever the loaded machine adds."""
    samples, cpu = [], []
    for _ in range(repeat):
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000.0)
        cpu.append((time.process_time() - c0) * 1000.0)
    return statistics.median(samples), min(samples), statistics.median(cpu)


def main():
    print("getObjectCounts pause (median/min of 5 wall ms, median CPU ms); Python %s; load average %s" % (
        sys.version.split()[0], " ".join("%.2f" % x for x in os.getloadavg())))
    keep = []
    for target in (100000, 1000000):
        keep = build(target)
        n = len(gc.get_objects())
        ours = timed(lambda: heapcounts.object_counts())
        exact = timed(lambda: heapcounts.object_counts(exact_sizes=True), 3)
        line = "%8d objects: workerlens %.1f/%.1f ms, CPU %.1f ms (%.1f ms per 1M); exactSizes %.1f ms" % (
            n, ours[0], ours[1], ours[2], ours[0] * 1e6 / n, exact[0])
        if objgraph is not None:
            peer = timed(lambda: objgraph.typestats())
            line += "; objgraph.typestats %.1f/%.1f ms, CPU %.1f ms; ratio %.2fx wall, %.2fx CPU" % (
                peer[0], peer[1], peer[2], peer[0] / ours[0], peer[2] / max(ours[2], 1e-6))
        else:
            line += "; objgraph not installed (python3-objgraph)"
        print(line)
        floor = timed(lambda: len(gc.get_objects()))
        stdlib = timed(lambda: Counter(map(type, gc.get_objects())))
        counts = heapcounts.object_counts()
        extra = timed(lambda: memorybreakdown.breakdown(counts=counts))
        walk = timed(lambda: untracked.walk(), 3)
        r = untracked.walk()
        print("%8s          floor gc.get_objects() %.1f ms (CPU %.1f), Counter(map(type, gc.get_objects())) %.1f ms; breakdown adds %.1f ms (without counts); "
              "untracked walk %.1f ms (%d untracked objects, %d containers ranked; walk %.0f / containers %.0f / paths %.0f ms)" % (
                  "", floor[0], floor[2], stdlib[0], extra[0], walk[0], r["objects"], len(r["containers"]),
                  r["costMs"]["walk"], r["costMs"]["containers"], r["costMs"]["paths"]))
        print("%8s          longest wait of another thread: counts %.1f ms, untracked walk %.1f ms, "
              "objgraph.typestats %s" % ("", stall(heapcounts.object_counts), stall(untracked.walk),
                                         "%.1f ms" % stall(objgraph.typestats) if objgraph else "n/a"))
        del keep


if __name__ == "__main__":
    main()
