"""HeapProfiler sampling on tracemalloc: the tree reads outermost → innermost, sizes sit on the
allocating line, blocks are reported, and the agent's own allocations are left out."""
import unittest

from workerlens_agent import sampling


class Kept:
    pass


def allocate(n):
    return [Kept() for _ in range(n)]  # the allocating line


class SamplingProfileTest(unittest.TestCase):
    def tearDown(self):
        sampling.stop()

    def test_allocating_line_carries_size_and_blocks(self):
        sampling.start({"stackDepth": 8})
        kept = allocate(2000)
        prof = sampling.profile()
        leaves = []

        def walk(node, depth):
            if node["selfSize"] > 0:
                leaves.append((node, depth))
            for c in node["children"]:
                walk(c, depth + 1)
        walk(prof["head"], 0)
        here = [n for n, _ in leaves if n["callFrame"]["url"] == __file__]
        self.assertTrue(here, "an allocation site in this file")
        top = max(here, key=lambda n: n["selfSize"])
        line = allocate.__code__.co_firstlineno  # def line; the body is the next line (0-based: same number)
        self.assertEqual(top["callFrame"]["lineNumber"], line)
        self.assertGreater(top["selfSize"], 2000 * 16)
        counts = {s["nodeId"]: s["count"] for s in prof["samples"]}
        self.assertGreaterEqual(counts[top["id"]], 2000)
        # the leaf is the innermost frame: its parent is the test method's frame, not the other way round
        self.assertFalse(any("workerlens_agent" in n["callFrame"]["url"] and "cli.py" not in n["callFrame"]["url"] for n, _ in leaves))
        del kept


if __name__ == "__main__":
    unittest.main()
