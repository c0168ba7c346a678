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
import signal
import subprocess
import sys
import threading
import time
import unittest

from tests.helpers import CELERY_PY, FIXTURES, Redis, Sandbox, client, count_of, have_celery, wait_for, wait_line

TARGET = os.path.join(FIXTURES, "tuple_builders.py")
SECONDS = float(os.environ.get("WL_HARMLESS_SECONDS") or 8.0)


class Target(object):
    def __init__(self, python=sys.executable, **env):
        self.box = Sandbox()
        self.proc = self.box.spawn([python, "-m", "workerlens_agent", "run", TARGET], stdin=subprocess.PIPE,
                                   **({"env": self.box.env(**env)} if env else {}))
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


def poll(info, calls, seconds, out, errors, done=None):
    c = client.connect(info)
    try:
        deadline = time.time() + seconds
        while time.time() < deadline and not (done and done.is_set()):
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


class InProcessSnapshotWhileBuildingTuplesTest(unittest.TestCase):
    """Where fork() is impossible the snapshot walks the heap in the worker's own process
    (WORKERLENS_SNAPSHOT=inprocess), running Python code for seconds while the builders run."""

    def test_worker_never_sees_systemerror(self):
        t = Target(WORKERLENS_SNAPSHOT="inprocess")
        try:
            results, errors = [], []
            poll(t.info, [("HeapProfiler.takeHeapSnapshot", {})], SECONDS, results, errors)
            self.assertIsNone(t.proc.poll(), "the worker died during in-process snapshots (exit %s): %s"
                              % (t.proc.returncode, [ln for ln in t.lines if "Error" in ln][:3] or t.lines[-3:]))
            done = t.stop()
            fails = [ln for ln in t.lines if ln.startswith("FAIL")]
            self.assertEqual(fails[:3], [], "the worker's tuple builders failed during in-process snapshots")
            self.assertIsNotNone(done, "the target did not finish: %s" % t.lines[-5:])
            self.assertEqual(int(done.split()[3]), 0, done)
            self.assertEqual(errors, [])
            self.assertGreaterEqual(len(results), 1)
        finally:
            t.close()



@unittest.skipUnless(have_celery(), "needs /usr/bin/python3 with celery+redis and redis-server")
class CeleryTasksWhileCountingTest(unittest.TestCase):
    """A real threads-pool Celery worker on a real redis-server, polled the way the UI and the bench
    poll (counts, heap usage, resource counts, task stats, the breakdown with its untracked walk), as
    fast as the clients can ask, while 1,500 tasks build tuples; the flight recorder counts too."""

    def test_no_task_fails(self):
        box = Sandbox()
        try:
            redis = Redis(box)
            env = box.env(CELERY_BROKER_URL=redis.url, PYTHONPATH=FIXTURES, WORKERLENS_RECORDER_INTERVAL="0.2")
            worker = box.spawn([CELERY_PY, "-m", "celery", "-A", "tuple_celery_app", "worker", "-l", "warning",
                                "--without-heartbeat", "--without-mingle", "--without-gossip", "--pool", "threads",
                                "-c", "4", "-n", "wl-harm-%d@localhost" % redis.port, "--workerlens"],
                               cwd=FIXTURES, env=env, stdout=subprocess.DEVNULL)
            info = wait_for(lambda: [d for d in box.all_discovery() if d["pid"] == worker.pid], 60, "discovery")[0]
            c = client.connect(info)
            results, errors = [], []
            calls = [("Python.getObjectCounts", {"limit": 200}), ("Runtime.getHeapUsage", {}),
                     ("Python.getResourceCounts", {}), ("Python.getTaskStats", {})]
            n = 1500
            done = threading.Event()
            pollers = [threading.Thread(target=poll, args=(info, calls, 300, results, errors, done)),
                       threading.Thread(target=poll, args=(info, [("Python.getMemoryBreakdown", {"untracked": True})],
                                                           300, results, errors, done))]
            for p in pollers:
                p.start()
            subprocess.check_call([CELERY_PY, os.path.join(FIXTURES, "tuple_celery_app.py"), str(n)],
                                  cwd=FIXTURES, env=env, timeout=120)

            def stats():
                s = [t for t in c.call("Python.getTaskStats")["tasks"] if t["name"] == "tuple_celery_app.build"]
                return s[0] if s else {"runs": 0, "failures": 0}
            deadline = time.time() + 240
            while stats()["runs"] < n and time.time() < deadline:
                time.sleep(0.5)
            done.set()
            for p in pollers:
                p.join(120)
            s = stats()
            report = c.call("Python.getProcessInfo")
            c.close()
            os.kill(worker.pid, signal.SIGTERM)
            err = worker.stderr.read().decode("utf-8", "replace")
            worker.wait(30)
            self.assertEqual((s["runs"], s["failures"]), (n, 0), "task failures while the agent counted: %s" % err[-2000:])
            self.assertNotIn("SystemError", err)
            self.assertEqual(report["pid"], worker.pid)
            self.assertGreater(len([m for m, _p, _r in results if m == "Python.getObjectCounts"]), 5)
            self.assertGreaterEqual(len([m for m, _p, _r in results if m == "Python.getMemoryBreakdown"]), 1)
            self.assertEqual(errors, [])
        finally:
            box.close()


if __name__ == "__main__":
    unittest.main()
