"""The memory breakdown of a real process whose malloc is jemalloc (LD_PRELOAD), issue 12.

glibc's mallinfo2 would describe an allocator nobody uses there: the malloc figures must say
unavailable with the reason, Trim now must refuse with it, and the parts must still add up to RSS
(what jemalloc holds free lands in the native rest, which says it is an estimate).
Debian package: libjemalloc2 (scripts/setup.sh installs it); skipped with the reason without it.
"""
import os
import unittest

from tests.test_memory import MB, Worker, part

JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"


@unittest.skipUnless(os.path.exists(JEMALLOC), "no %s (Debian package libjemalloc2)" % JEMALLOC)
class JemallocBreakdownTest(unittest.TestCase):
    def test_malloc_parts_unavailable_with_the_reason_and_the_rest_adds_up(self):
        w = Worker(env={"LD_PRELOAD": JEMALLOC})
        try:
            with open("/proc/%d/maps" % w.proc.pid) as f:
                self.assertIn("libjemalloc", f.read(), "the worker did not load jemalloc")
            b0 = w.breakdown(untracked=True)
            self.assertEqual(b0["malloc"]["how"], "unavailable", b0["malloc"])
            self.assertEqual(b0["malloc"].get("allocator"), "jemalloc", b0["malloc"])
            free = part(b0, "mallocFree")
            self.assertEqual(free["how"], "unavailable")
            self.assertIsNone(free["bytes"])
            self.assertIn("jemalloc", free["reason"])
            # pymalloc still serves small objects (its arenas come from mmap, not malloc)
            self.assertEqual(part(b0, "allocatorOverhead")["how"], "exact", b0["pymalloc"])
            for p in b0["parts"]:
                if p["how"] == "unavailable":
                    self.assertTrue(p.get("reason"), p)
            native = part(b0, "nativeOther")
            self.assertEqual(native["how"], "estimated")
            total = sum(p["bytes"] or 0 for p in b0["parts"])
            if native["bytes"] > 0:  # clamped at 0 only when the estimates exceed anonymous RSS
                self.assertEqual(total, b0["rssBytes"], b0["parts"])
            else:
                self.assertIn("exceed", native.get("reason", ""), native)

            t = w.c.call("Python.trimMemory")
            self.assertFalse(t["trimmed"], t)
            self.assertIn("jemalloc", t["reason"])

            # a native leak through jemalloc's malloc is still seen as native growth
            w.command("cmalloc 64")
            b1 = w.breakdown()
            grew = part(b1, "nativeOther")["bytes"] - native["bytes"]
            self.assertGreater(grew, 48 * MB, (b0["parts"], b1["parts"]))
            self.assertEqual(part(b1, "mallocFree")["how"], "unavailable")
            self.assertEqual(w.c.call("Python.getProcessInfo")["pid"], w.proc.pid)  # still serving
        finally:
            w.close()


if __name__ == "__main__":
    unittest.main()
