"""Python.getThreadStacks cost with 50 threads (and 1,000), against a plain stdlib dump in the same run.

    /usr/bin/python3 bench/agent_threads.bench.py
Goal (issue 17): a stacks refresh pauses the worker <= 5 ms with 50 threads. "Pause" is the CPU
time the call spends holding the GIL (thread_time of the calling thread); "stall" is the longest
gap a busy Python thread sees between two ticks while refreshes run, against the same gap without
them (the GIL's own 5 ms switch interval sets that floor). The peer is what stdlib offers:
sys._current_frames() + traceback.extract_stack per thread (stacks only: no states, no waits).
The outside read (/proc/PID/mem from another process) is timed last; it never stops the worker.
"""
import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "agent"))
from workerlens_agent import threadstacks  # noqa: E402

LOCKS = [threading.Lock() for _ in range(10)]
for lk in LOCKS:
    lk.acquire()
Q = queue.Queue()
EV = threading.Event()
STOP = threading.Event()


def deep(n, fn):
    return deep(n - 1, fn) if n else fn()


def on_lock(i):
    deep(8, lambda: LOCKS[i % 10].acquire())


def on_queue():
    deep(8, Q.get)


def on_event():
    deep(8, EV.wait)


def sleeper():
    deep(8, lambda: time.sleep(3600))


def holder(i):
    mine = threading.Lock()
    with mine:
        deep(8, lambda: time.sleep(3600))


class Ticker(object):
    def __init__(self):
        self.max_gap = 0.0
        self.reset = False

    def run(self):
        last = time.perf_counter()
        while not STOP.is_set():
            x = 0
            for _ in range(200):
                x += 1
            now = time.perf_counter()
            if self.reset:
                self.max_gap, self.reset = 0.0, False
            else:
                self.max_gap = max(self.max_gap, now - last)
            last = now


def start(n):
    kinds = [on_lock, lambda: on_queue(), lambda: on_event(), lambda: sleeper(), holder]
    threads = []
    for i in range(n):
        k = kinds[i % len(kinds)]
        args = (i,) if k in (on_lock, holder) else ()
        t = threading.Thread(target=k, args=args, daemon=True)
        t.start()
        threads.append(t)
    return threads


def peer():
    out = {}
    for ident, frame in sys._current_frames().items():
        out[ident] = traceback.extract_stack(frame)
    return out


def cpu_ms(fn, repeat):
    samples = []
    for _ in range(repeat):
        c0 = time.thread_time()
        fn()
        samples.append((time.thread_time() - c0) * 1000)
    return statistics.median(samples), max(samples)


def stall(ticker, fn, seconds=2.0):
    ticker.reset = True
    time.sleep(0.05)
    t_end = time.time() + seconds
    while time.time() < t_end:
        if fn:
            fn()
        time.sleep(0.05)
    return ticker.max_gap * 1000


def main():
    print("Python.getThreadStacks cost; Python %s" % sys.version.split()[0])
    ticker = Ticker()
    threading.Thread(target=ticker.run, daemon=True).start()
    start(49)
    time.sleep(0.5)
    n = len(sys._current_frames())
    c0 = time.thread_time()
    first = threadstacks.thread_stacks(set())
    first_ms = (time.thread_time() - c0) * 1000
    med, worst = cpu_ms(lambda: threadstacks.thread_stacks(set()), 30)
    pmed, pworst = cpu_ms(peer, 30)
    r = threadstacks.thread_stacks(set())
    waits = sum(1 for t in r["threads"] if t.get("waitsOn"))
    print("  %d threads (%d waiting on a known object): first refresh %.2f ms (parses sources once)" % (n, waits, first_ms))
    print("  steady refresh: pause median %.2f ms, max %.2f ms  (goal <= 5 ms)" % (med, worst))
    print("  peer (stdlib _current_frames + traceback.extract_stack): median %.2f ms, max %.2f ms  -> ratio %.2f"
          % (pmed, pworst, med / pmed if pmed else 0))
    base = stall(ticker, None)
    busy = stall(ticker, lambda: threadstacks.thread_stacks(set()))
    print("  busy thread's longest stall: %.2f ms without refreshes, %.2f ms with a refresh every 50 ms" % (base, busy))
    ev = threading.Event()
    more = [threading.Thread(target=ev.wait, daemon=True) for _ in range(950)]
    for t in more:
        t.start()
    time.sleep(0.3)
    med1k, worst1k = cpu_ms(lambda: threadstacks.thread_stacks(set()), 5)
    print("  %d threads: pause median %.1f ms, max %.1f ms" % (len(sys._current_frames()), med1k, worst1k))
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "workerlens_agent", "outside-stacks", str(os.getpid())],
                       stdout=subprocess.PIPE, env=dict(os.environ, PYTHONPATH=sys.path[0]))
    wall = (time.perf_counter() - t0) * 1000
    out = json.loads(p.stdout.decode().splitlines()[-1])
    if "error" in out:
        print("  outside read: %s" % out["error"]["message"])
    else:
        print("  outside read of %d threads: %.0f ms wall (reader process incl. start-up), %.1f ms reading; worker not stopped"
              % (len(out["threads"]), wall, out["wallMs"]))
    ev.set()
    STOP.set()


if __name__ == "__main__":
    main()
