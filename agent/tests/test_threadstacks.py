"""Python.getThreadStacks over real threads: states, waits-for, holders, deadlocks, no user code."""
import os
import sys
import threading
import time
import unittest
import _thread
import queue

from tests.helpers import AGENT_DIR  # noqa: F401  (puts the agent on sys.path)
from workerlens_agent import threadstacks

lock_a = threading.Lock()
lock_b = threading.Lock()


def first():
    with lock_a:
        time.sleep(0.3)
        with lock_b:
            pass


def second():
    lock_b.acquire()
    try:
        time.sleep(0.3)
        with lock_a:
            pass
    finally:
        lock_b.release()


class Hostile(threading.Thread):
    touched = []

    @property
    def name(self):
        Hostile.touched.append("name")
        return "hostile"

    @name.setter
    def name(self, v):
        pass

    @property
    def daemon(self):
        Hostile.touched.append("daemon")
        return True

    @daemon.setter
    def daemon(self, v):
        pass

    @property
    def _name(self):
        Hostile.touched.append("_name")
        return "hostile"

    @_name.setter
    def _name(self, v):
        self.__dict__["_real_name"] = v


def by_func(result, func):
    return [t for t in result["threads"] if t["frames"] and any(f["functionName"] == func for f in t["frames"][:2])]


class ThreadStacksTest(unittest.TestCase):
    def test_abba_deadlock_reported_with_both_stacks(self):
        a = threading.Thread(target=first, daemon=True)
        b = threading.Thread(target=second, daemon=True)
        a.start()
        b.start()
        time.sleep(0.8)
        r = threadstacks.thread_stacks(set())
        self.assertEqual(len(r["deadlocks"]), 1, r["deadlocks"])
        d = r["deadlocks"][0]
        self.assertEqual(sorted(d["threadIds"]), sorted([a.ident, b.ident]))
        self.assertEqual(sorted(o["id"] for o in d["objects"]), sorted([id(lock_a), id(lock_b)]))
        ta, tb = by_func(r, "first")[0], by_func(r, "second")[0]
        self.assertEqual(ta["waitsOn"]["object"]["id"], id(lock_b))
        self.assertEqual(ta["waitsOn"]["holderThreadIds"], [b.ident])
        self.assertEqual([h["expression"] for h in ta["holds"]], ["lock_a"])
        self.assertEqual([h["expression"] for h in tb["holds"]], ["lock_b"])  # acquire() ... try/finally release()
        self.assertEqual(tb["waitsOn"]["holderThreadIds"], [a.ident])
        self.assertEqual(ta["frames"][0]["lineNumber"] + 1, first.__code__.co_firstlineno + 3)
        self.assertEqual(ta["state"], "waiting")

    def test_states_and_holders(self):
        rl = threading.RLock()
        q = queue.Queue()
        ev = threading.Event()
        go = threading.Event()

        def holder():
            with rl:
                go.set()
                time.sleep(30)

        def waiter():
            go.wait()
            with rl:
                pass
        h = threading.Thread(target=holder, daemon=True)
        h.start()
        threads = [threading.Thread(target=f, daemon=True) for f in (waiter, q.get, ev.wait, lambda: h.join())]
        for t in threads:
            t.start()
        time.sleep(0.5)
        r = threadstacks.thread_stacks(set())
        byid = {t["threadId"]: t for t in r["threads"]}
        self.assertEqual(byid[h.ident]["state"], "sleeping")
        self.assertEqual(byid[threads[0].ident]["waitsOn"]["holderThreadIds"], [h.ident])
        self.assertEqual(byid[threads[0].ident]["waitsOn"]["holderHow"], "the RLock's owner")
        self.assertEqual(byid[threads[1].ident]["waitsOn"]["object"]["kind"], "Queue")
        self.assertEqual(byid[threads[1].ident]["waitsOn"]["object"]["id"], id(q))
        self.assertEqual(byid[threads[2].ident]["waitsOn"]["object"]["kind"], "Event")
        self.assertEqual(byid[threads[3].ident]["waitsOn"]["holderThreadIds"], [h.ident])
        mine = {h.ident} | {t.ident for t in threads}
        self.assertEqual([d for d in r["deadlocks"] if mine & set(d["threadIds"])], [])

    def test_never_calls_thread_subclass_properties(self):
        Hostile.touched[:] = []
        t = Hostile(target=time.sleep, args=(5,), daemon=True)
        t.start()
        Hostile.touched[:] = []
        r = threadstacks.thread_stacks(set())
        self.assertEqual(Hostile.touched, [])
        me = [x for x in r["threads"] if x["threadId"] == t.ident][0]
        self.assertEqual(me["name"], "thread-%d" % t.ident)  # _name is a property there: not read

    def test_never_hashes_user_classes_of_waited_objects(self):
        calls = []

        class Meta(type):
            def __hash__(cls):
                calls.append("hash")
                return 1

            def __eq__(cls, other):
                calls.append("eq")
                return cls is other

        class MyLock(metaclass=Meta):
            def __init__(self):
                self._inner = threading.Lock()

            def __enter__(self):
                self._inner.acquire()

            def __exit__(self, *a):
                self._inner.release()

        mine = MyLock()
        gate = threading.Event()

        def user():
            with mine:
                gate.wait()
        t = threading.Thread(target=user, daemon=True)
        t.start()
        time.sleep(0.2)
        calls[:] = []
        try:
            threadstacks.thread_stacks(set())
            self.assertEqual(calls, [])
        finally:
            gate.set()
            t.join()

    def test_threads_exiting_mid_read_and_c_only_threads(self):
        stop = threading.Event()

        def churn():
            while not stop.is_set():
                x = threading.Thread(target=lambda: None)
                x.start()
                x.join()
        c = threading.Thread(target=churn, daemon=True)
        c.start()
        _thread.start_new_thread(time.sleep, (5,))  # a thread with no Python frame at all
        try:
            for _ in range(200):
                r = threadstacks.thread_stacks(set())
                self.assertTrue(r["threads"])
        finally:
            stop.set()
            c.join()

    def test_leaves_no_garbage_in_the_worker(self):
        import gc
        t = threading.Thread(target=first, daemon=True)  # a frame that holds a lock: source parsed
        t.start()
        time.sleep(0.1)
        gc.collect()
        was = gc.isenabled()
        gc.disable()
        try:
            for _ in range(20):
                threadstacks.thread_stacks(set())
            self.assertEqual(gc.collect(), 0)  # no reference cycles left for the collector
        finally:
            if was:
                gc.enable()

    def test_a_thousand_threads(self):
        ev = threading.Event()
        ts = [threading.Thread(target=ev.wait, daemon=True) for _ in range(1000)]
        for t in ts:
            t.start()
        try:
            r = threadstacks.thread_stacks(set())
            waiting = [t for t in r["threads"] if t.get("waitsOn", {}).get("object", {}).get("id") == id(ev)]
            self.assertEqual(len(waiting), 1000)
        finally:
            ev.set()
            for t in ts:
                t.join()

    def test_source_analysis(self):
        import ast
        src = ("def f(self):\n"
               "    with self.lock:\n"
               "        x = 1\n"
               "        self.other.acquire()\n"
               "        y = 2\n"
               "        self.other.release()\n"
               "        z = 3\n"
               "    with open('x') as fh, LOCKS['k']:\n"
               "        w = 4\n")
        tree = ast.parse(src)
        self.assertEqual(threadstacks._analyse(tree, 3)[0], ["self.lock"])
        self.assertEqual(threadstacks._analyse(tree, 5)[0], ["self.lock", "self.other"])
        self.assertEqual(threadstacks._analyse(tree, 7)[0], ["self.lock"])
        self.assertEqual(threadstacks._analyse(tree, 4)[1], "self.other")
        self.assertEqual(threadstacks._analyse(tree, 2)[1], "self.lock")
        self.assertEqual(threadstacks._analyse(tree, 9)[0], ["LOCKS['k']"])


if __name__ == "__main__":
    unittest.main()
