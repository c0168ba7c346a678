"""Nothing the agent does may appear as the user's growth (issue 13).

The Heap view takes its baseline at the first count after attach; every later count is compared
with it, and a type that grew is a leak suspect. So after the calls the Heap view and its panels
make (heap snapshots, counts, the memory breakdown with its untracked walk, allocation sampling,
heap usage, task stats, resource counts, process info), round after round, no type may count more
than at the baseline in a process that does nothing meanwhile: a real idle Celery prefork child
on a real redis-server (/usr/bin/python3), and a plain script at rest under each pyenv Python
3.8, 3.12 and 3.13 found on this machine (CPython <= 3.12 attach a dict to a running frame when
its locals are read; 3.13 does not).
"""
import glob
import os
import signal
import subprocess
import sys
import time
import unittest

from tests.helpers import (FIXTURES, HeapSnapshot, Redis, Sandbox, client, have_celery, start_worker, take_snapshot,
                           wait_for, wait_line)

ROUNDS = 3
IDLE = os.path.join(FIXTURES, "idle_threads.py")


def counts(c):
    r = c.call("Python.getObjectCounts", {})  # what the Heap view asks (no collect: it sees garbage too)
    return dict(((x["module"], x["type"]), x["count"]) for x in r["counts"])


def heap_view_calls(c):
    """One round of what the Heap view, Retainers and Allocations ask of a worker; the snapshot text."""
    text = take_snapshot(c, progress=True)[0]
    counts(c)
    c.call("Python.getMemoryBreakdown", {"untracked": True})
    c.call("Python.getMemoryBreakdown", {})
    c.call("HeapProfiler.startSampling", {"samplingInterval": 32768})
    c.call("HeapProfiler.getSamplingProfile", {})
    c.call("HeapProfiler.stopSampling", {})
    for method in ("Runtime.getHeapUsage", "Python.getTaskStats", "Python.getResourceCounts", "Python.getProcessInfo"):
        c.call(method, {})
    return text


def grown(base, now):
    return dict(("%s.%s" % k, n - base.get(k, 0)) for k, n in now.items() if n > base.get(k, 0))


class _Checks(object):
    def assert_no_growth(self, c, where):
        # a Celery child starts its agent in worker_process_init and goes on setting itself up for a
        # moment: the baseline is taken once it is at rest (two equal counts in a row), as a user
        # attaches to a waiting worker; then it is the Heap view's baseline (first count after attach)
        base, deadline = counts(c), time.time() + 30
        while time.time() < deadline:
            time.sleep(0.5)
            now = counts(c)
            if now == base:
                break
            base = now
        text = None
        for r in range(ROUNDS):
            text = heap_view_calls(c)
            self.assertEqual(grown(base, counts(c)), {}, "%s, round %d: the agent's own objects count as growth"
                             % (where, r + 1))
        return text

    def assert_frames_reach_locals(self, text, type_name="LocalOnly"):
        """Frames' locals are still read for the snapshot (in the fork child): an object held only by
        a frame is reached through its thread, not listed as a gc root."""
        snap = HeapSnapshot(text)
        prev = snap.bfs()
        found = snap.find(type_name)
        self.assertTrue(found, "no %s in the snapshot" % type_name)
        path = snap.path(prev, found[0])
        self.assertEqual((path[0], path[-1]), ("[1]", "only_here"), path)
        self.assertTrue(path[1].startswith("parked-"), path)


    def assert_thread_stacks_keep_nothing(self, info, where):
        """The Threads view's getThreadStacks keeps no parsed sources between calls (ast nodes, lines
        and result lists were growth), and the dicts its lock-holder lookups attach to the waiting
        frames (f_locals on CPython <= 3.12) are left out of the counts, said in ownExcluded."""
        c = client.connect(info)
        try:
            version = tuple(int(x) for x in c.call("Python.getProcessInfo")["pythonVersion"].split(".")[:2])
            base = counts(c)
            for r in range(ROUNDS):
                c.call("Python.getThreadStacks", {})
                self.assertEqual(grown(base, counts(c)), {}, "%s, getThreadStacks round %d" % (where, r + 1))
            own = c.call("Python.getObjectCounts", {}).get("ownExcluded", {}).get("dict", 0)
            # the fixture's threads wait on an Event: Condition.wait's `waiter` lock is looked up
            if version < (3, 13):
                self.assertGreaterEqual(own, 1, where)
        finally:
            c.close()


def _pyenv_pythons():
    root = subprocess.run(["pyenv", "root"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          universal_newlines=True).stdout.strip() if _which("pyenv") else ""
    out = []
    for minor in ("3.8", "3.12", "3.13"):
        found = sorted(glob.glob(os.path.join(root, "versions", minor + ".*", "bin", "python3"))) if root else []
        if found:
            out.append(found[-1])
    return out


def _which(name):
    import shutil
    return shutil.which(name)


class IdleScriptTest(unittest.TestCase, _Checks):
    def check(self, python, **env):
        box = Sandbox()
        try:
            proc = box.spawn([python, "-m", "workerlens_agent", "run", IDLE], stdin=subprocess.PIPE,
                             **({"env": box.env(**env)} if env else {}))
            wait_line(proc, "ready", timeout=60)
            c = client.connect(box.discovery(proc.pid, timeout=30))
            try:
                text = self.assert_no_growth(c, python)
            finally:
                c.close()
            self.assert_frames_reach_locals(text)
            self.assert_thread_stacks_keep_nothing(box.discovery(proc.pid), python)
            proc.stdin.write(b"stop\n")
            proc.stdin.flush()
            self.assertEqual(proc.wait(30), 0)
        finally:
            box.close()

    def test_this_python(self):
        self.check(sys.executable)

    def test_in_process_snapshots(self):
        """No fork: the walk reads the frames' locals in the worker, and the counts leave the dicts
        that attaches out (ownobjects). On CPython 3.8-3.10 only: from 3.11 the in-process walk also
        materialises the __dict__ of every instance it names edges of (+1 dict per instance, kept):
        still a known cost of the in-process fallback (the fork path, the default, has none)."""
        pythons = [p for p in _pyenv_pythons() if "/3.8." in p]
        if not pythons:
            self.skipTest("no pyenv 3.8 here")
        self.check(pythons[0], WORKERLENS_SNAPSHOT="inprocess")

    def test_pyenv_pythons(self):
        pythons = _pyenv_pythons()
        if not pythons:
            self.skipTest("no pyenv 3.8/3.12/3.13 here")
        for python in pythons:
            with self.subTest(python=python):
                self.check(python)


@unittest.skipUnless(have_celery(), "needs /usr/bin/python3 with celery+redis and redis-server")
class IdleCeleryChildTest(unittest.TestCase, _Checks):
    def test_prefork_child_and_main(self):
        box = Sandbox()
        try:
            redis = Redis(box)
            worker = start_worker(box, redis, "--pool", "prefork", "-c", "1", "--workerlens")
            files = wait_for(lambda: (lambda f: f if len(f) == 2 else None)(
                [d for d in box.all_discovery() if d["pid"] == worker.pid or d["ppid"] == worker.pid]), 60, "2 agents")
            child = [d for d in files if d["pid"] != worker.pid][0]
            c = client.connect(child)
            try:
                self.assert_no_growth(c, "Celery prefork child %d" % child["pid"])
            finally:
                c.close()
            os.kill(worker.pid, signal.SIGTERM)
            worker.wait(30)
        finally:
            box.close()


if __name__ == "__main__":
    unittest.main()


class ClientConnectionsTest(unittest.TestCase):
    """Clients coming and going (a view connects, the CLI asks once) are the agent's own: their
    Connection, socket, lock, Session, frame reader and closures never show as the worker's growth."""

    def test_new_connections_do_not_grow(self):
        import json
        from workerlens_agent import agent as agent_mod, client as wl_client
        a = agent_mod.start(role="process")
        self.addCleanup(agent_mod.stop)
        c = wl_client.connect(a.discovery(), timeout=10)
        self.addCleanup(c.close)

        def counts():
            r = c.call("Python.getObjectCounts", {})
            return dict(((x["module"], x["type"]), x["count"]) for x in r["counts"])
        counts()
        base = counts()
        holder = ("import sys, json, time\nsys.path.insert(0, %r)\nfrom workerlens_agent import client\n"
                  "cs = [client.connect(json.loads(sys.argv[1]), timeout=10) for _ in range(4)]\n"
                  "[x.call('Python.getTaskStats', {}) for x in cs]\nprint('ok', flush=True)\ntime.sleep(30)\n"
                  % os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        p = subprocess.Popen([sys.executable, "-c", holder, json.dumps(a.discovery())], stdout=subprocess.PIPE)
        self.addCleanup(p.wait)
        self.addCleanup(p.kill)
        self.assertEqual(p.stdout.readline().strip(), b"ok")
        time.sleep(0.3)
        now = counts()
        grew = dict((k, now[k] - base.get(k, 0)) for k in now if now[k] > base.get(k, 0))
        ours = dict((k, n) for k, n in grew.items() if k[0].startswith("workerlens_agent") or k in (("socket", "socket"),))
        self.assertEqual(ours, {}, "4 client connections showed as growth: %r" % grew)
        self.assertLess(grew.get(("_thread", "lock"), 0), 4, grew)  # one per connection before (send lock)
