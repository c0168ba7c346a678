"""Python.getMemoryBreakdown / trimMemory and the untracked-container suspects, over real processes.

Each scenario is a real `python -m workerlens_agent run test/fixtures/agent/memory_worker.py`
driven on stdin; the agent is asked over its real WebSocket (npm test runs this on every CPython here).
"""
import os
import subprocess
import sys
import tempfile
import unittest

from tests.helpers import FIXTURES, Sandbox, client, count_of, wait_line

WORKER = os.path.join(FIXTURES, "memory_worker.py")
MB = 1 << 20


class Worker(object):
    def __init__(self, python=sys.executable, env=None):
        self.box = Sandbox()
        self.proc = self.box.spawn([python, "-m", "workerlens_agent", "run", WORKER], stdin=subprocess.PIPE,
                                   env=self.box.env(**(env or {})))
        wait_line(self.proc, "ready", timeout=60)
        self.c = client.connect(self.box.discovery(self.proc.pid, timeout=30))

    def command(self, text, timeout=120):
        self.proc.stdin.write((text + "\n").encode())
        self.proc.stdin.flush()
        wait_line(self.proc, "ok", timeout=timeout)

    def breakdown(self, untracked=False):
        return self.c.call("Python.getMemoryBreakdown", {"untracked": untracked})

    def close(self):
        try:
            self.c.close()
            self.proc.stdin.close()
        finally:
            self.box.close()


def part(b, key):
    for p in b["parts"]:
        if p["key"] == key:
            return p
    raise AssertionError("no part %s in %s" % (key, [p["key"] for p in b["parts"]]))


def container(b, path_text):
    for c in b["untracked"]["containers"]:
        if c["pathText"] == path_text:
            return c
    raise AssertionError("no container at %s; got %s" % (
        path_text, [(c["pathText"], c["type"], c["length"]) for c in b["untracked"]["containers"]]))


class BreakdownShapeTest(unittest.TestCase):
    def test_parts_add_up_to_rss(self):
        if True:
            if True:
                w = Worker()
                try:
                    b = w.breakdown(untracked=True)
                    self.assertGreater(b["rssBytes"], 5 * MB)
                    keys = [p["key"] for p in b["parts"]]
                    self.assertEqual(keys, ["fileBacked", "pythonTracked", "pythonUntracked", "allocatorOverhead",
                                            "mallocFree", "nativeOther"])
                    for p in b["parts"]:
                        self.assertIn(p["how"], ("exact", "estimated", "unavailable"), p)
                        if p["how"] == "unavailable":
                            self.assertTrue(p.get("reason"), p)
                        else:
                            self.assertTrue(p.get("source"), p)
                    total = sum(p["bytes"] or 0 for p in b["parts"])
                    # nativeOther is RSS minus the rest, clamped at 0: the sum is RSS unless it was clamped
                    if part(b, "nativeOther")["bytes"] > 0:
                        self.assertEqual(total, b["rssBytes"])
                    self.assertEqual(part(b, "mallocFree")["how"], "exact", b["malloc"])
                    self.assertEqual(part(b, "allocatorOverhead")["how"], "exact", b["pymalloc"])
                    self.assertGreaterEqual(b["malloc"]["arenas"], 1)
                    self.assertIsNotNone(b["process"]["privateBytes"])
                    later = part(w.breakdown(untracked=False), "pythonUntracked")
                    self.assertEqual(later["how"], "estimated")
                    self.assertIn("the untracked walk", later["source"])
                finally:
                    w.close()

    def test_no_pymalloc_says_unavailable_with_the_reason(self):
        w = Worker(env={"PYTHONMALLOC": "malloc"})
        try:
            b = w.breakdown()
            p = part(b, "allocatorOverhead")
            self.assertEqual(p["how"], "unavailable")
            self.assertIn("pymalloc", p["reason"])
            self.assertEqual(part(b, "pythonUntracked")["how"], "unavailable")
            self.assertEqual(part(b, "mallocFree")["how"], "exact")
        finally:
            w.close()


class FragmentationTest(unittest.TestCase):
    def test_free_memory_held_by_malloc_dominates_and_trim_returns_it(self):
        w = Worker()
        try:
            w.command("frag", timeout=300)
            b = w.breakdown()
            free = part(b, "mallocFree")["bytes"]
            self.assertGreater(b["rssBytes"], 300 * MB, b["process"])
            self.assertGreater(free, 0.5 * b["rssBytes"], b["parts"])
            self.assertLess(part(b, "pythonTracked")["bytes"], 100 * MB)
            self.assertGreaterEqual(b["malloc"]["arenas"], 2, "threads allocate from their own arenas")
            t = w.c.call("Python.trimMemory")
            self.assertTrue(t["trimmed"], t)
            self.assertGreater(t["releasedBytes"], 100 * MB, t)
            self.assertLess(t["rssAfterBytes"], t["rssBeforeBytes"])
            self.assertEqual(w.c.call("Python.getProcessInfo")["pid"], w.proc.pid)  # still serving
        finally:
            w.close()


class NativeLeakTest(unittest.TestCase):
    def test_ctypes_malloc_shows_as_native_growth_not_python(self):
        w = Worker()
        try:
            b0 = w.breakdown()
            w.command("cmalloc 64")
            b1 = w.breakdown()
            native = part(b1, "nativeOther")["bytes"] - part(b0, "nativeOther")["bytes"]
            tracked = part(b1, "pythonTracked")["bytes"] - part(b0, "pythonTracked")["bytes"]
            self.assertGreater(native, 48 * MB, (b0["parts"], b1["parts"]))
            self.assertLess(abs(tracked), 2 * MB)
        finally:
            w.close()


class UntrackedContainersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = Worker()

    @classmethod
    def tearDownClass(cls):
        cls.w.close()

    def test_str_cache_bytes_list_and_thread_local_are_named_and_grow(self):
        w = self.w
        for cmd in ("strcache 3000", "bytes 3000", "tls 3000"):
            w.command(cmd)
        b0 = w.breakdown(untracked=True)
        for cmd in ("strcache 3000", "bytes 3000", "tls 3000"):
            w.command(cmd)
        b1 = w.breakdown(untracked=True)
        for path, kind, items in (("__main__._seen", "dict", "str"), ("__main__.payloads", "list", "bytes"),
                                  ("__main__.tls.<per-thread>.items", "list", "bytes")):
            c0, c1 = container(b0, path), container(b1, path)
            self.assertEqual(c1["type"], kind)
            self.assertEqual(c1["id"], c0["id"])
            self.assertEqual(c1["length"] - c0["length"], 3000, path)
            self.assertGreater(c1["ownedBytes"] - c0["ownedBytes"], 3000 * 64, path)
            self.assertIn(items, c1["itemTypes"], path)
        self.assertFalse(container(b1, "__main__._seen")["tracked"], "a dict of str is not gc-tracked")
        strs = [r for r in b1["untracked"]["byType"] if r["type"] == "str"][0]
        strs0 = [r for r in b0["untracked"]["byType"] if r["type"] == "str"][0]
        self.assertGreater(strs["count"] - strs0["count"], 5500)   # keys and values of _seen (others come and go)
        self.assertGreater(part(b1, "pythonUntracked")["bytes"], part(b0, "pythonUntracked")["bytes"])


class HostileTypesTest(unittest.TestCase):
    def test_counts_and_heap_usage_never_call_user_code_and_do_not_fail(self):
        fd, log = tempfile.mkstemp(prefix="wl-hostile-")
        os.close(fd)
        w = Worker(env={"WL_HOSTILE_LOG": log})
        try:
            w.command("hostile")
            r = w.c.call("Python.getObjectCounts")
            self.assertEqual(count_of(r, "BadSize", "__main__"), 5000)
            self.assertTrue(w.c.call("Python.getObjectCounts", {"exactSizes": True})["counts"])
            self.assertGreater(w.c.call("Runtime.getHeapUsage")["usedSize"], 0)
            self.assertTrue(w.breakdown(untracked=True)["parts"])
            with open(log) as f:
                self.assertEqual(f.read(), "", "user __hash__/__eq__ ran")
        finally:
            w.close()
            os.unlink(log)


class QuietWorkerTest(unittest.TestCase):
    def test_attach_counts_breakdown_and_snapshot_leave_no_growth(self):
        w = Worker()
        try:
            def counts():
                return {(r["module"], r["type"]): r["count"] for r in w.c.call("Python.getObjectCounts")["counts"]}

            def grew(a, b, slack=0):
                return {k: b.get(k, 0) - a.get(k, 0) for k in b if b.get(k, 0) - a.get(k, 0) > slack}

            first = counts()
            w.breakdown(untracked=True)
            after_breakdown = counts()
            # slack 1: an object of the agent's own call in flight can be counted once (CPython 3.10,
            # CI 2026-12-02: tuple +1 here, none left when looked for between calls); growth is what
            # repeats, checked below over two more rounds
            self.assertEqual(grew(first, after_breakdown, 1), {}, "the first breakdown left objects behind")
            w.c.call("HeapProfiler.takeHeapSnapshot", {})
            baseline = counts()
            # the id table (heapgraph.IdMap) is made at the agent's start now; the first snapshot still
            # leaves a few dicts on 3.8-3.12 (7 on 3.11, none on 3.13: not yet found which), once
            self.assertLess(sum(grew(after_breakdown, baseline).values()), 16, grew(after_breakdown, baseline))
            for _ in range(2):
                w.breakdown(untracked=True)
                w.c.call("HeapProfiler.takeHeapSnapshot", {})
                w.c.call("Runtime.getHeapUsage")
                w.c.call("Python.trimMemory")
            # slack 2: cyclic garbage of the fork (snapshot) may await the next gc pass
            self.assertEqual(grew(baseline, counts(), 2), {}, "the agent's own activity shows as growth")
        finally:
            w.close()


if __name__ == "__main__":
    unittest.main()
