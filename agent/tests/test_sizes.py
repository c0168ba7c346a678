"""One definition of a shallow size (issue 13): the live counts and the snapshot give an instance the
same bytes, sys.getsizeof's (own block + GC header + the 3.11+ managed dict/weakref pre-header)."""
import collections
import sys
import unittest

from tests.test_snapshot import snapshot_here

from workerlens_agent import heapcounts


class SizedRecord(object):
    def __init__(self, i):
        self.i = i


class SlottedRecord(object):
    __slots__ = ("a",)


class RecordError(Exception):
    pass


class SizesTest(unittest.TestCase):
    def setUp(self):
        self.keep = ([SizedRecord(i) for i in range(300)] + [SlottedRecord() for _ in range(40)]
                     + [RecordError() for _ in range(20)] + [collections.deque([1, 2]) for _ in range(5)])

    def _row(self, counts, t):
        return [r for r in counts if r["type"] == t.__qualname__ and r["module"] == t.__module__][0]

    def test_counts_per_instance_equal_getsizeof(self):
        counts = heapcounts.object_counts()["counts"]
        for t in (SizedRecord, SlottedRecord, RecordError, collections.deque):
            inst = next(o for o in self.keep if type(o) is t)
            row = self._row(counts, t)
            self.assertEqual(row["size"], row["count"] * sys.getsizeof(inst), t.__name__)
        self.assertFalse(self._row(counts, SizedRecord)["sizeSampled"], "a fixed-size type is exact")

    def test_snapshot_self_size_equals_counts(self):
        counts = heapcounts.object_counts()["counts"]
        per_instance = self._row(counts, SizedRecord)["size"] // self._row(counts, SizedRecord)["count"]
        snap, _ = snapshot_here("in-process")
        sizes = set(snap.nodes[i * snap.nf + 3] for i in range(snap.n) if snap.name(i) == "SizedRecord" and snap.node_type(i) == "object")
        self.assertEqual(sizes, {per_instance})

    def test_counts_between_samples_reuse_the_last_means(self):
        heapcounts._mean_check.clear()  # the next count samples
        first = heapcounts.object_counts()
        d = self._row(first["counts"], collections.deque)
        more = [collections.deque([1, 2]) for _ in range(7)]
        second = heapcounts.object_counts()
        self.assertEqual(second["sizesSampledAt"], first["sizesSampledAt"], "the count in between did not sample")
        d2 = self._row(second["counts"], collections.deque)
        self.assertEqual(d2["count"], d["count"] + 7)
        self.assertEqual(d2["size"], d2["count"] * sys.getsizeof(more[0]), "count x the last sample's mean")
        for _ in range(heapcounts.SIZES_EVERY):
            last = heapcounts.object_counts()
        self.assertGreater(last["sizesSampledAt"], first["sizesSampledAt"], "re-sampled within SIZES_EVERY counts")


if __name__ == "__main__":
    unittest.main()
