"""Heap snapshots: V8 format rules, retainer paths, stable ids, and never a call into user code."""
import os
import subprocess
import sys
import tempfile
import unittest

from tests.helpers import FIXTURES, HeapSnapshot, Sandbox, client, take_snapshot, wait_line

from workerlens_agent import heapgraph, snapshot


class _FakeAgent(object):
    def __init__(self):
        self.heap_ids = heapgraph.IdMap()


def snapshot_here(mode):
    """A snapshot of this test process by the given path ('fork' or 'in-process')."""
    agent = _FakeAgent()
    parts = []
    threads = heapgraph.capture_threads(set())
    take = snapshot._take_forked if mode == "fork" else snapshot._take_in_process
    result = take(agent, threads, lambda *a: None, parts.append)
    return HeapSnapshot("".join(parts)), result


class SnapshotOverCdpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.box = Sandbox()
        cls.proc = cls.box.spawn([sys.executable, "-m", "workerlens_agent", "run",
                                  os.path.join(FIXTURES, "leaky_script.py")], stdin=subprocess.PIPE)
        wait_line(cls.proc, "ready")
        cls.proc.stdin.write(b"leak 7\n")
        cls.proc.stdin.flush()
        wait_line(cls.proc, "ok")
        cls.info = cls.box.discovery(cls.proc.pid)

    @classmethod
    def tearDownClass(cls):
        cls.box.close()

    def test_format_path_and_stable_ids(self):
        c = client.connect(self.info)
        try:
            text, result, events = take_snapshot(c, progress=True)
            snap = HeapSnapshot(text)
            self.assertEqual(snap.raw["snapshot"]["node_count"], snap.n)
            self.assertEqual(len(snap.nodes), snap.n * snap.nf)
            self.assertEqual(snap.raw["snapshot"]["edge_count"], len(snap.edges) // snap.ef)
            self.assertEqual(snap.first[snap.n], snap.raw["snapshot"]["edge_count"])
            self.assertEqual(list(snap.raw.keys())[-1], "strings")
            self.assertEqual((snap.node_type(0), snap.name(0)), ("synthetic", ""))
            self.assertEqual([snap.name(t) for _, t in snap.out(0)], ["(modules)", "(threads)", "(gc roots)"])
            self.assertNotIn("array", set(snap.node_type(i) for i in range(snap.n)))
            ids = [snap.node_id(i) for i in range(snap.n)]
            self.assertEqual(len(set(ids)), snap.n, "ids are unique")
            self.assertTrue(all(snap.node_id(i) % 2 == 1 for i in range(snap.n) if snap.node_type(i) != "synthetic"))
            prev = snap.bfs()
            self.assertEqual(len(prev), snap.n, "every node is reachable from the root")
            payloads = snap.find("Payload")
            self.assertEqual(len(payloads), 7)
            paths = sorted(snap.path(prev, i) for i in payloads)
            self.assertEqual(paths[0], ["[0]", "__main__", "leaky_storage", "[0]"])
            self.assertEqual(paths[6], ["[0]", "__main__", "leaky_storage", "[6]"])
            body = [t for e, t in snap.out(payloads[0]) if snap.edge_name(e) == "order_id"]
            self.assertEqual(len(body), 1)
            self.assertTrue(any(m.get("params", {}).get("finished") for m in events))
            self.assertEqual(result["mode"], "fork")
            # ids stay stable across snapshots; new objects get new, larger ids
            first_ids = dict((snap.path(prev, i)[-1], snap.node_id(i)) for i in payloads)
            self.proc.stdin.write(b"leak 2\n")
            self.proc.stdin.flush()
            wait_line(self.proc, "ok")
            snap2 = HeapSnapshot(take_snapshot(c)[0])
            prev2 = snap2.bfs()
            second = dict((snap2.path(prev2, i)[-1], snap2.node_id(i)) for i in snap2.find("Payload"))
            self.assertEqual(len(second), 9)
            self.assertEqual(dict((k, second[k]) for k in first_ids), first_ids)
            self.assertGreater(min(v for k, v in second.items() if k not in first_ids), max(first_ids.values()))
            info = c.call("Python.getProcessInfo")
            self.assertEqual(info["snapshotMode"], "fork")
        finally:
            c.close()


class HostileObjectsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        fd, cls.log = tempfile.mkstemp(prefix="wl-hostile-")
        os.close(fd)
        os.environ["WL_HOSTILE_LOG"] = cls.log
        sys.path.insert(0, FIXTURES)
        import hostile
        hostile.HOSTILE_LOG = cls.log
        cls.hostile = hostile
        hostile.arm()

    @classmethod
    def tearDownClass(cls):
        cls.hostile.ARMED[0] = False
        cls.hostile.zoo = None
        sys.path.remove(FIXTURES)
        os.unlink(cls.log) if os.path.exists(cls.log) else None

    def check(self, mode):
        snap, result = snapshot_here(mode)
        self.assertEqual(self.hostile.calls(), [], "the snapshot called user code")
        self.assertEqual(result["mode"], mode)
        self.assertEqual(len(snap.bfs()), snap.n)
        found = snap.find("Hostile")
        self.assertEqual(len(found), 1)
        names = sorted(snap.edge_name(e) for e, _ in snap.out(found[0]))
        self.assertEqual(names, ["__class__", "__dict__", "payload", "tag"])
        slotted = snap.find("Slotted")
        self.assertIn("left", [snap.edge_name(e) for e, _ in snap.out(slotted[0])])
        self.assertTrue(snap.find("class WithMeta"))

    def test_fork_path_calls_nothing(self):
        self.check("fork")

    def test_in_process_path_calls_nothing(self):
        self.check("in-process")

    def test_fixture_really_is_hostile(self):
        from workerlens_agent import heapcounts
        heapcounts.object_counts(exact_sizes=True)
        self.assertEqual(self.hostile.calls(), [])
        try:
            repr(self.hostile.zoo[0])
        except RuntimeError:
            pass
        self.assertEqual(self.hostile.calls(), ["__repr__"])
        os.unlink(self.log)


if __name__ == "__main__":
    unittest.main()
