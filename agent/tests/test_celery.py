"""A real Celery worker (Debian celery, real redis-server) with --workerlens: prefork and threads."""
import os
import signal
import unittest

from tests.helpers import (Redis, Sandbox, children_of, client, count_of, have_celery, send_tasks, start_worker,
                           wait_for)

N = 12


@unittest.skipUnless(have_celery(), "needs /usr/bin/python3 with celery+redis and redis-server")
class CeleryWorkerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.box = Sandbox()
        cls.redis = Redis(cls.box)

    @classmethod
    def tearDownClass(cls):
        cls.box.close()

    def endpoints(self, main_pid, expected):
        def ready():
            files = [d for d in self.box.all_discovery() if d["pid"] == main_pid or d["ppid"] == main_pid]
            return files if len(files) == expected else None
        return wait_for(ready, 30, "%d discovery files" % expected)

    def stop(self, proc):
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(30)

    def test_prefork_children_each_serve_their_own_endpoint(self):
        worker = start_worker(self.box, self.redis, "--pool", "prefork", "-c", "2", "--workerlens", "-Q", "prefork")
        files = self.endpoints(worker.pid, 3)
        children = children_of(worker.pid)
        self.assertEqual(sorted(d["pid"] for d in files), sorted([worker.pid] + children))
        clients = {}
        try:
            for d in files:
                c = clients[d["pid"]] = client.connect(d)
                info = c.call("Python.getProcessInfo")
                self.assertEqual(info["pid"], d["pid"])
                self.assertEqual(info["pool"], "prefork")
                self.assertTrue(info["workerName"].startswith("wl-"))
                if d["pid"] == worker.pid:
                    self.assertEqual((info["role"], info["processName"]), ("main", "MainProcess"))
                else:
                    self.assertEqual(info["role"], "child")
                    self.assertTrue(info["processName"].startswith("ForkPoolWorker-"), info["processName"])
            before = dict((pid, count_of(clients[pid].call("Python.getObjectCounts"), "Payload", "tasks"))
                          for pid in children)
            send_tasks(self.box, self.redis, "from tasks import leak\nfor i in range(%d): "
                       "leak.apply_async((i, 64), queue='prefork')" % N)

            def runs(pid):
                stats = clients[pid].call("Python.getTaskStats")
                return sum(t["runs"] for t in stats["tasks"] if t["name"] == "tasks.leak")
            wait_for(lambda: sum(runs(pid) for pid in children) == N, 30, "%d leak runs" % N)
            total = 0
            for pid in children:
                grown = count_of(clients[pid].call("Python.getObjectCounts"), "Payload", "tasks") - before[pid]
                self.assertEqual(grown, runs(pid), "child %d grew by its own processed share" % pid)
                total += grown
            self.assertEqual(total, N)
            main_counts = clients[worker.pid].call("Python.getObjectCounts")
            self.assertEqual(count_of(main_counts, "Payload", "tasks"), 0)
            stats = clients[children[0]].call("Python.getTaskStats")
            self.assertTrue(stats["exact"])
        finally:
            for c in clients.values():
                c.close()
            self.stop(worker)
        self.assertEqual([d for d in self.box.all_discovery() if d["pid"] in [worker.pid] + children], [],
                         "every agent removed its discovery file on shutdown")

    def test_threads_pool_has_one_agent(self):
        # WORKERLENS=1 instead of --workerlens: the other documented switch
        worker = start_worker(self.box, self.redis, "--pool", "threads", "-c", "4", "-Q", "threads", WORKERLENS="1")
        (d,) = self.endpoints(worker.pid, 1)
        c = client.connect(d)
        try:
            info = c.call("Python.getProcessInfo")
            self.assertEqual((info["pid"], info["role"], info["pool"]), (worker.pid, "main", "threads"))
            before = count_of(c.call("Python.getObjectCounts"), "Payload", "tasks")
            send_tasks(self.box, self.redis, "from tasks import leak\nfor i in range(%d): "
                       "leak.apply_async((i, 64), queue='threads')" % N)

            def runs():
                return sum(t["runs"] for t in c.call("Python.getTaskStats")["tasks"] if t["name"] == "tasks.leak")
            wait_for(lambda: runs() == N, 30, "%d leak runs" % N)
            self.assertEqual(count_of(c.call("Python.getObjectCounts"), "Payload", "tasks") - before, N)
            self.assertFalse(c.call("Python.getTaskStats")["exact"])
        finally:
            c.close()
            self.stop(worker)


if __name__ == "__main__":
    unittest.main()


@unittest.skipUnless(have_celery(), "needs /usr/bin/python3 with celery+redis and redis-server")
class AutostartTest(unittest.TestCase):
    """WORKERLENS=1 + the sitecustomize hook starts agents in workers of apps that never call install()."""

    def test_hook_starts_workers_only(self):
        import subprocess
        from tests.helpers import AGENT_DIR, CELERY_PY, FIXTURES
        box = Sandbox()
        try:
            redis = Redis(box)
            path = os.path.join(AGENT_DIR, "workerlens_autostart") + os.pathsep + FIXTURES
            env = box.env(PYTHONPATH=path, WORKERLENS="1", CELERY_BROKER_URL=redis.url)
            # a non-worker process importing Celery: no agent
            subprocess.check_call([CELERY_PY, "-c", "import plain_celery_app, celery.signals"], env=env, timeout=30)
            self.assertEqual(box.all_discovery(), [])
            worker = box.spawn([CELERY_PY, "-m", "celery", "-A", "plain_celery_app", "worker", "--pool", "solo",
                                "-l", "warning", "--without-heartbeat", "--without-mingle", "--without-gossip"],
                               env=env, stdout=subprocess.DEVNULL)
            (d,) = wait_for(lambda: [x for x in box.all_discovery() if x["pid"] == worker.pid], 30, "discovery")
            c = client.connect(d)
            info = c.call("Python.getProcessInfo")
            c.close()
            self.assertEqual((info["role"], info["pool"]), ("main", "solo"))
        finally:
            box.close()
