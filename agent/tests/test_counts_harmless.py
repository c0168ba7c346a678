"""Counting objects while the worker builds tuples must never fail the worker (issue 11).

CPython fills a new tuple in place and checks that nobody else holds it (_PyTuple_Resize in
tuple(genexpr), PyTuple_SetItem in C extensions such as sqlite3's row builder); the tuple is
gc-tracked from PyTuple_New, so an agent that keeps gc.get_objects()'s list while the GIL goes
back to the worker makes the worker raise SystemError. A real target (stdlib only, four builder
threads) is polled as fast as two clients can ask: counts (sampled and exact sizes), the memory
breakdown with the untracked walk, heap usage. The target must report zero failures, and the
counts must still be right.
"""
import os
import subprocess
import sys
import threading
import time
import unittest

from tests.helpers import FIXTURES, Sandbox, client, count_of, wait_line

TARGET = os.path.join(FIXTURES, "tuple_builders.py")
SECONDS = float(os.environ.get("WL_HARMLESS_SECONDS") or 8.0)


class Target(object):
    def __init__(self, python=sys.executable):
        self.box = Sandbox()
        self.proc = self.box.spawn([python, "-m", "workerlens_agent", "run", TARGET], stdin=subprocess.PIPE)
        wait_line(self.proc, "ready", timeout=60)
        self.info = self.box.discovery(self.proc.pid, timeout=30)
        self.lines = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in iter(self.proc.stdout.readline, b""):
            self.lines.append(line.decode("utf-8", "replace").rstrip())

    def stop(self):
        self.proc.stdin.write(b"stop\n")
        self.proc.stdin.flush()
        self.proc.wait(30)
        self._reader.join(10)
        done = [ln for ln in self.lines if ln.startswith("done ")]
        return done[-1] if done else None

    def close(self):
        self.box.close()


def poll(info, calls, seconds, out, errors):
    c = client.connect(info)
    try:
        deadline = time.time() + seconds
        while time.time() < deadline:
            for method, params in calls:
                try:
                    out.append((method, params, c.call(method, params)))
                except Exception as e:  # an agent error is a finding too, but not the worker's failure
                    errors.append("%s %s: %s" % (method, params, e))
    finally:
        c.close()


class CountsWhileBuildingTuplesTest(unittest.TestCase):
    def test_worker_never_sees_systemerror_and_counts_stay_right(self):
        t = Target()
        try:
            results, errors = [], []
            counts = [("Python.getObjectCounts", {"limit": 50}), ("Runtime.getHeapUsage", {}),
                      ("Python.getObjectCounts", {"limit": 50, "exactSizes": True})]
            walks = [("Python.getMemoryBreakdown", {"untracked": True})]
            pollers = [threading.Thread(target=poll, args=(t.info, counts, SECONDS, results, errors)),
                       threading.Thread(target=poll, args=(t.info, walks, SECONDS, results, errors))]
            for p in pollers:
                p.start()
            for p in pollers:
                p.join(SECONDS + 300)
            done = t.stop()
            fails = [ln for ln in t.lines if ln.startswith("FAIL")]
            self.assertEqual(sorted(set(ln.split(":")[0] for ln in fails)), [],
                             "the worker's tuple builders failed while the agent counted: %s" % fails[:3])
            self.assertIsNotNone(done, "the target did not finish: %s" % t.lines[-5:])
            built, failures = int(done.split()[1]), int(done.split()[3])
            self.assertEqual(failures, 0, done)
            self.assertGreater(built, 1000, done)
            self.assertEqual(t.proc.returncode, 0)
            self.assertEqual(errors, [])
            n_counts = [r for m, p, r in results if m == "Python.getObjectCounts"]
            n_walks = [r for m, p, r in results if m == "Python.getMemoryBreakdown"]
            self.assertGreater(len(n_counts), 5)
            self.assertGreaterEqual(len(n_walks), 1)
            for r in n_counts:
                # 20,000 kept tuples and the threads' own frames: the counts still see them
                self.assertGreaterEqual(count_of(r, "tuple", "builtins"), 20000)
                self.assertEqual(sum(x["count"] for x in r["counts"]) <= r["totalObjects"], True)
                tup = [x for x in r["counts"] if x["type"] == "tuple"][0]
                self.assertGreater(tup["size"], 20000 * 40)
                self.assertGreaterEqual(count_of(r, "list", "builtins"), 20000)
            for b in n_walks:
                self.assertGreater(b["untracked"]["objects"], 0)
        finally:
            t.close()


if __name__ == "__main__":
    unittest.main()
