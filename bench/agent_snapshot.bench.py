"""Heap snapshot at ~1M objects: wall time, worker pause and peak extra memory, fork vs in-process,
against a naive in-process walk (gc.get_objects + get_referents into Python lists + json) in the same run.

    /usr/bin/python3 bench/agent_snapshot.bench.py [N=1000000]
Goals (issue 3): worker pause <= 50 ms regardless of heap size; extra memory <= 1x the heap.
Pause = longest gap between the target main thread's 0.5 ms ticks while the snapshot runs.
Extra memory = target's peak RSS growth (VmHWM) + the snapshot child's peak private memory.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "agent"))
from workerlens_agent import client  # noqa: E402

TARGET = os.path.join(ROOT, "test", "fixtures", "agent", "bench_heap_target.py")
NAIVE = r'''
import gc, json, sys, time
def naive_snapshot():
    objs = gc.get_objects()
    index = {id(o): i for i, o in enumerate(objs)}
    nodes, edges = [], []
    for o in objs:
        refs = gc.get_referents(o)
        nodes.append([type(o).__name__, id(o), sys.getsizeof(o), len(refs)])
        for r in refs:
            j = index.get(id(r))
            if j is None:
                j = index[id(r)] = len(objs); objs.append(r)
            edges.append(j)
    return json.dumps({"nodes": nodes, "edges": edges})
'''


def private_kb(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            total = 0
            for line in f:
                if line.startswith(("Private_Dirty:", "Private_Clean:")):
                    total += int(line.split()[1])
            return total
    except OSError:
        return 0


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def report(proc, path):
    if os.path.exists(path):
        os.unlink(path)
    os.kill(proc.pid, signal.SIGUSR1)
    for _ in range(400):
        if os.path.exists(path):
            with open(path) as f:
                gap, rss, hwm = f.read().split()
            return float(gap), int(rss), int(hwm)
        time.sleep(0.025)
    raise RuntimeError("target did not report")


def run(n, mode):
    rundir = tempfile.mkdtemp(prefix="wl-bench-")
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "agent"), XDG_RUNTIME_DIR=rundir)
    if mode == "in-process":
        env["WORKERLENS_SNAPSHOT"] = "inprocess"
    rep = os.path.join(rundir, "report")
    proc = subprocess.Popen([sys.executable, TARGET, str(n), rep], env=env, stdout=subprocess.PIPE)
    try:
        proc.stdout.readline()
        path = os.path.join(rundir, "workerlens", "%d.json" % proc.pid)
        while not os.path.exists(path):
            time.sleep(0.05)
        with open(path) as f:
            info = json.load(f)
        report(proc, rep)
        time.sleep(3)  # noise floor: the longest tick gap with no snapshot running (machine load)
        floor, rss0, hwm0 = report(proc, rep)
        peak_child = [0]
        done = threading.Event()

        def watch():
            while not done.is_set():
                for c in children(proc.pid):
                    peak_child[0] = max(peak_child[0], private_kb(c) * 1024)
                time.sleep(0.05)
        w = threading.Thread(target=watch)
        w.start()
        c = client.connect(info, timeout=600)
        size = [0]
        t0 = time.perf_counter()
        result = c.call("HeapProfiler.takeHeapSnapshot", {},
                        on_event=lambda m: size.__setitem__(0, size[0] + len(m.get("params", {}).get("chunk", ""))))
        wall = time.perf_counter() - t0
        done.set()
        w.join()
        c.close()
        gap, rss, hwm = report(proc, rep)
        return {"floor_ms": floor, "mode": result["mode"], "wall": wall, "pause_ms": gap, "nodes": result["nodeCount"],
                "edges": result["edgeCount"], "heap_rss": rss0, "extra": (hwm - hwm0) + peak_child[0],
                "json_mb": size[0] / 1e6}
    finally:
        proc.kill()
        proc.wait()


def run_naive(n):
    code = (NAIVE + "\nsys.path.insert(0, %r)\nfrom bench_heap_target import build\nheap = build(%d)\n"
            "import resource\nrss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\nt0 = time.perf_counter()\n"
            "out = naive_snapshot()\nprint(time.perf_counter() - t0, "
            "(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) * 1024, rss0 * 1024, len(out))\n"
            % (os.path.dirname(TARGET), n))
    out = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, check=True).stdout.split()
    return float(out[0]), int(out[1]), int(out[2]), int(out[3])


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
    print("heap snapshot of ~%d objects; Python %s; load %s" % (n, sys.version.split()[0], os.getloadavg()[0]))
    for mode in ("fork", "in-process"):
        r = run(n, mode)
        print("  %-10s wall %6.1f s  worker pause %8.1f ms (idle floor %.1f ms)  extra memory %6.0f MB (%.2fx heap RSS %0.f MB)  "
              "%d nodes %d edges, %.0f MB JSON" % (r["mode"], r["wall"], r["pause_ms"], r["floor_ms"], r["extra"] / 1e6,
                                                   r["extra"] / float(r["heap_rss"]), r["heap_rss"] / 1e6,
                                                   r["nodes"], r["edges"], r["json_mb"]))
    wall, extra, rss, size = run_naive(n)
    print("  %-10s wall %6.1f s  worker pause %8.1f ms  extra memory %6.0f MB (%.2fx heap RSS %.0f MB)  %.0f MB JSON"
          % ("naive", wall, wall * 1000.0, extra / 1e6, extra / float(rss), rss / 1e6, size / 1e6))


if __name__ == "__main__":
    main()
