"""The flight recorder's top growing types carry a retainer path (typepaths.py), or a note saying why not.

In this process (any Python 3.8+): a type leaking into a module-level list gets the path naming that
global; a type held only through a module-level tuple gets the tuple note (and nothing is held);
the search is skipped for cost at a zero budget, stops at the hop limit, runs only once growth is
seen twice, and is reused (not searched again) within its TTL. Over a real Celery prefork worker
(real redis-server): the report file of the pool child names tasks.leaky_storage for tasks.Payload,
and a type held only by a tuple the task builds with tuple(genexpr) gets the note while every task
still succeeds.
"""
import gc
import os
import shutil
import sys
import tempfile
import time
import types
import unittest

from tests.helpers import EXAMPLE, Redis, Sandbox, children_of, have_celery, start_worker, wait_for

from workerlens_agent import recorder, reportfiles, typepaths


class Leaked(object):
    __slots__ = ("n",)   # no per-instance dict on 3.8-3.10: the type itself is the top growth

    def __init__(self, n):
        self.n = n


class InTuple(object):
    __slots__ = ("n",)

    def __init__(self, n):
        self.n = n


class InProcessTest(unittest.TestCase):
    def setUp(self):
        # garbage of an earlier test (3.12+ collect the old generation late) would be sampled too,
        # and garbage is reachable from no named root: these tests are about live leaks
        gc.collect()
        self.dir = tempfile.mkdtemp(prefix="wl-paths-")
        self.mod = types.ModuleType("wl_leaky_mod")
        self.mod.store = []
        self.mod.HELD = ()
        sys.modules["wl_leaky_mod"] = self.mod
        self.saved = (typepaths.BUDGET_S, typepaths.MAX_DEPTH)

    def tearDown(self):
        typepaths.BUDGET_S, typepaths.MAX_DEPTH = self.saved
        # unittest keeps finished TestCases (and so self.mod): free the instances, or the next test
        # samples them too, reachable from no named root
        self.mod.store = []
        self.mod.HELD = ()
        del sys.modules["wl_leaky_mod"]
        shutil.rmtree(self.dir, ignore_errors=True)

    def grow(self):
        self.mod.store.extend(Leaked(i) for i in range(3000))
        self.mod.HELD = self.mod.HELD + tuple(InTuple(i) for i in range(2000))

    def counts(self, r):
        r._next_counts = 0  # counts now, not at the duty-cycle time
        doc = r.refresh()
        return doc, {g["type"]: g for g in doc["objects"]["growing"]}

    def test_list_global_gets_its_path_and_the_tuple_one_a_note(self):
        r = recorder.Recorder(directory=os.path.join(self.dir, "r"))
        r.refresh()
        self.grow()
        doc, by = self.counts(r)
        leaked = by[__name__ + ".Leaked"]
        self.assertIsNone(leaked["path"])  # growth seen once: not searched yet
        self.assertIn("growth seen in one count so far", leaked["pathNote"])
        self.assertIsNone(doc["objects"]["paths"])
        self.grow()
        doc, by = self.counts(r)
        self.assertEqual(doc["objects"]["growing"][0]["type"], __name__ + ".Leaked")
        leaked = by[__name__ + ".Leaked"]
        self.assertEqual((leaked["path"] or [])[:2], ["wl_leaky_mod", "store"], (leaked, doc["objects"]["paths"]))
        self.assertRegex(leaked["pathText"], r"^wl_leaky_mod\.store\[\d+\]$")
        index = int(leaked["path"][2][1:-1])
        self.assertIs(type(self.mod.store[index]), Leaked)
        self.assertIn("one path from 5 sampled instances", leaked["pathHow"])
        self.assertIn("by gc referrers", leaked["pathHow"])
        held = by[__name__ + ".InTuple"]
        self.assertIsNone(held["path"])
        self.assertIn("reached only through tuples/frozensets", held["pathNote"])
        paths = doc["objects"]["paths"]
        self.assertGreater(paths["costMs"], 0)
        searched = [g for g in doc["objects"]["growing"][:typepaths.TOP] if g.get("pathAt") == paths["at"]]
        self.assertEqual((paths["types"], paths["stopped"]), (len(searched), None))
        self.assertGreaterEqual(paths["instances"], 10)
        self.assertGreaterEqual(paths["hops"], 2)
        # what the search held is gone: no dict, deque or list of the agent still refers to the instances
        probe = self.mod.store[-1]
        holders = [type(x).__name__ for x in gc.get_referrers(probe) if x is not self.mod.store]
        self.assertEqual(holders, [], holders)
        # within the TTL the path is reused, not searched again
        self.grow()
        before = paths["at"]
        doc, by = self.counts(r)
        self.assertEqual(doc["objects"]["paths"]["at"], before)
        self.assertEqual(by[__name__ + ".Leaked"]["pathAt"], before)
        self.assertTrue(by[__name__ + ".Leaked"]["pathText"].startswith("wl_leaky_mod.store["))
        # the report is written with them
        on_disk, why = reportfiles.read_one(os.path.join(r.directory, r.name))
        self.assertIsNone(why)
        self.assertEqual(on_disk["objects"]["growing"][0]["pathText"], by[__name__ + ".Leaked"]["pathText"])

    def test_budget_and_hop_limit_give_their_notes(self):
        typepaths.BUDGET_S = 0.0
        r = recorder.Recorder(directory=os.path.join(self.dir, "r"))
        r.refresh()
        self.grow()
        self.counts(r)
        self.grow()
        doc, by = self.counts(r)
        self.assertIsNone(by[__name__ + ".Leaked"]["path"])
        self.assertIn("skipped for cost", by[__name__ + ".Leaked"]["pathNote"])
        self.assertEqual(doc["objects"]["paths"]["stopped"], "time")
        typepaths.BUDGET_S, typepaths.MAX_DEPTH = self.saved[0], 1
        r2 = recorder.Recorder(directory=os.path.join(self.dir, "r2"))
        r2.refresh()
        self.grow()
        self.counts(r2)
        self.grow()
        doc, by = self.counts(r2)
        self.assertIsNone(by[__name__ + ".Leaked"]["path"])
        self.assertIn("not reached within 1 hops", by[__name__ + ".Leaked"]["pathNote"])

    def test_tuple_type_itself_is_never_searched(self):
        g = [{"type": "tuple", "count": 10, "growth": 5}, {"type": "frozenset", "count": 10, "growth": 5}]
        self.assertEqual(typepaths.TypePaths().annotate(g, {"tuple": 5, "frozenset": 5}, time.time()), 0.0)
        for e in g:
            self.assertIsNone(e["path"])
            self.assertIn("never held by the agent", e["pathNote"])


TUPLE_TASKS = '''
"""A task that keeps instances only through a module-level tuple, built with tuple(genexpr): the
tuple being filled is exactly what the agent must never hold."""
from tasks import app

HELD = ()


class TupleHeld(object):
    __slots__ = ("n",)

    def __init__(self, n):
        self.n = n


@app.task
def hold(n):
    global HELD
    big = tuple(TupleHeld(i) for i in range(500))  # filled in place while the recorder may be searching
    HELD = HELD + big[:n]
    return len(HELD)
'''


@unittest.skipUnless(have_celery(), "needs /usr/bin/python3 with celery and redis-server")
class CeleryPathsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.box = Sandbox()
        cls.redis = Redis(cls.box)

    @classmethod
    def tearDownClass(cls):
        cls.box.close()

    def test_pool_child_report_names_the_module_global(self):
        extra = os.path.join(self.box.dir, "extra")
        os.mkdir(extra)
        with open(os.path.join(extra, "tuple_tasks.py"), "w") as f:
            f.write(TUPLE_TASKS)
        worker = start_worker(self.box, self.redis, "--pool", "prefork", "-c", "1", "-Q", "paths", "--workerlens",
                              "--include", "tuple_tasks", PYTHONPATH=extra, WORKERLENS_RECORDER_INTERVAL="0.5")
        wait_for(lambda: children_of(worker.pid), 30, "the pool child")
        reports = os.path.join(self.box.dir, "workerlens", "reports")

        # the child whose report has its first count (re-read each time: under load the pool may
        # replace a child, CI 2026-12-02 timed out on a pid that had no report)
        def first_counted():
            kids = set(children_of(worker.pid))
            for rep in reportfiles.read_all(reports)[0]:
                if rep["pid"] in kids and rep.get("objects"):
                    return rep["pid"]
            return None
        child = wait_for(first_counted, 90, "a pool child's first count in its report")

        def mine():
            for rep in reportfiles.read_all(reports)[0]:
                if rep["pid"] == child:
                    return rep
            return None
        # a steady leak over several counts (they are spaced to stay under 0.5 % of wall time; under
        # load that is 10 s or more apart): tasks.Payload +1 and tuple_tasks.TupleHeld +0.5 per leak
        producer = self.box.spawn([
            "/usr/bin/python3", "-c",
            "import time\nfrom tasks import leak\nfrom tuple_tasks import hold\n"
            "for i in range(30000):\n    leak.apply_async((i, 100), queue='paths')\n"
            "    if i % 2 == 0:\n        hold.apply_async((1,), queue='paths')\n    time.sleep(0.01)"],
            cwd=EXAMPLE, env=self.box.env(CELERY_BROKER_URL=self.redis.url, PYTHONPATH=extra))

        seen = []

        def found():
            rep = mine()
            seen[:] = [((rep or {}).get("objects") or {}).get("growing", [])[:4], ((rep or {}).get("objects") or {}).get("paths")]
            g = {e["type"]: e for e in ((rep or {}).get("objects") or {}).get("growing", [])}
            p, t = g.get("tasks.Payload"), g.get("tuple_tasks.TupleHeld")
            if p and p.get("path") and t and "pathNote" in t and "growth seen in one count" not in t["pathNote"]:
                return rep
            return None
        try:
            rep = wait_for(found, 120, "a report with the Payload path and the TupleHeld note")
        except AssertionError as e:
            raise AssertionError("%s; the child's last report: %r" % (e, seen))
        finally:
            producer.kill()
            producer.wait()
        g = {e["type"]: e for e in rep["objects"]["growing"]}
        self.assertEqual(rep["objects"]["growing"][0]["type"], "tasks.Payload", rep["objects"]["growing"][:3])
        payload = g["tasks.Payload"]
        self.assertEqual(payload["path"][:2], ["tasks", "leaky_storage"], payload)
        self.assertRegex(payload["pathText"], r"^tasks\.leaky_storage\[\d+\]$")
        self.assertIn("by gc referrers", payload["pathHow"])
        self.assertIsNone(g["tuple_tasks.TupleHeld"]["path"])
        self.assertIn("reached only through tuples/frozensets", g["tuple_tasks.TupleHeld"]["pathNote"])
        self.assertGreater(rep["objects"]["paths"]["costMs"], 0)
        runs = rep["tasks"]["runs"]
        self.assertEqual(runs["tuple_tasks.hold"]["failed"], 0, runs)  # tuple(genexpr) never broke
        self.assertEqual(runs["tasks.leak"]["failed"], 0, runs)
        self.assertGreater(runs["tuple_tasks.hold"]["succeeded"], 0, runs)
        self.assertIsNone(worker.poll())


if __name__ == "__main__":
    unittest.main()
