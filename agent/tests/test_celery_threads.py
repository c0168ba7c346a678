"""Hung real Celery workers (real redis-server, /usr/bin/python3 -m celery): an ABBA deadlock between
two tasks, a task past its soft time limit, a task holding the GIL in a catastrophic regex."""
import json
import os
import subprocess
import time
import unittest

from tests.helpers import (AGENT_DIR, CELERY_PY, FIXTURES, Redis, Sandbox, children_of, client, have_celery,
                           wait_for)


def start(box, redis, *args):
    env = box.env(CELERY_BROKER_URL=redis.url, PYTHONPATH=FIXTURES)
    cmd = [CELERY_PY, "-m", "celery", "-A", "hung_tasks", "worker", "-l", "warning", "--without-heartbeat",
           "--without-mingle", "--without-gossip", "-n", "wl-hung-%d-%d@localhost" % (redis.port, len(box.procs)),
           "--workerlens"] + list(args)
    return box.spawn(cmd, cwd=FIXTURES, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def send(box, redis, code):
    env = box.env(CELERY_BROKER_URL=redis.url, PYTHONPATH=FIXTURES)
    subprocess.check_call([CELERY_PY, "-c", "from hung_tasks import *\n" + code], cwd=FIXTURES, env=env, timeout=60)


def frames_of(t):
    return [f["functionName"] for f in t["frames"]]


@unittest.skipUnless(have_celery(), "needs /usr/bin/python3 with celery+redis and redis-server")
class HungCeleryTest(unittest.TestCase):
    def setUp(self):
        self.box = Sandbox()
        self.redis = Redis(self.box)

    def tearDown(self):
        self.box.close()

    def agent(self, pid):
        d = wait_for(lambda: [x for x in self.box.all_discovery() if x["pid"] == pid], 30, "agent of %d" % pid)[0]
        return client.connect(d)

    def test_abba_deadlock_and_soft_limit_in_a_threads_pool(self):
        w = start(self.box, self.redis, "--pool", "threads", "-c", "3", "-Q", "hung")
        c = self.agent(w.pid)
        try:
            time.sleep(1.0)
            send(self.box, self.redis, "transfer_a_to_b.apply_async(queue='hung'); transfer_b_to_a.apply_async(queue='hung');"
                                       "slow_report.apply_async((120,), queue='hung')")

            def deadlocked():
                r = c.call("Python.getThreadStacks")
                slow = [t for t in r["threads"] if (t.get("task") or {}).get("name") == "hung_tasks.slow_report"]
                return r if r["deadlocks"] and slow and slow[0]["task"]["runningSeconds"] > 2 else None
            r = wait_for(deadlocked, 40, "a deadlock and a slow task")
            self.assertEqual(r["source"], "agent")
            d = r["deadlocks"][0]
            self.assertEqual(len(d["threadIds"]), 2)
            byid = {t["threadId"]: t for t in r["threads"]}
            pair = [byid[i] for i in d["threadIds"]]
            names = sorted(t["task"]["name"] for t in pair)
            self.assertEqual(names, ["hung_tasks.transfer_a_to_b", "hung_tasks.transfer_b_to_a"])
            for t in pair:  # both stacks, each in its own task function, holding one lock and waiting on the other
                self.assertEqual(frames_of(t)[0], t["task"]["name"].split(".")[1])
                self.assertEqual(len(t["holds"]), 1)
                self.assertEqual(t["waitsOn"]["holderThreadIds"], [x["threadId"] for x in pair if x is not t])
                self.assertTrue(t["frames"][0]["url"].endswith("hung_tasks.py"))
            self.assertEqual(sorted(o["id"] for o in d["objects"]), sorted(h["object"]["id"] for t in pair for h in t["holds"]))
            slow = [t for t in r["threads"] if (t.get("task") or {}).get("name") == "hung_tasks.slow_report"][0]
            self.assertEqual(slow["task"]["softTimeLimit"], 1)
            self.assertEqual(slow["task"]["timeLimit"], 300)
            self.assertTrue(slow["task"]["pastSoftLimit"])
            self.assertFalse(slow["task"]["pastHardLimit"])
            self.assertGreater(slow["task"]["runningSeconds"], 2)
            self.assertEqual(slow["state"], "sleeping")
        finally:
            c.close()

    def test_gil_held_in_c_read_from_outside(self):
        w = start(self.box, self.redis, "--pool", "prefork", "-c", "1", "-Q", "regex")
        d = wait_for(lambda: [x for x in self.box.all_discovery() if x["ppid"] == w.pid], 30, "the pool child's agent")[0]
        child = d["pid"]
        self.assertIn(child, children_of(w.pid))
        c = client.connect(d)
        c.call("Python.getProcessInfo")
        send(self.box, self.redis, "parse_header.apply_async((64,), queue='regex')")
        time.sleep(2.0)
        with open("/proc/%d/stat" % child) as f:
            self.assertEqual(f.read().rsplit(")", 1)[1].split()[0], "R")
        c.sock.settimeout(3)
        with self.assertRaises(OSError):  # the agent's thread cannot get the GIL
            c.call("Python.getThreadStacks")
        c.close()
        p = subprocess.run([os.readlink("/proc/%d/exe" % child), "-m", "workerlens_agent", "outside-stacks", str(child)],
                           env=dict(os.environ, PYTHONPATH=AGENT_DIR), stdout=subprocess.PIPE, timeout=60)
        r = json.loads(p.stdout.decode().splitlines()[-1])
        self.assertEqual(r["source"], "outside", r)
        main = [t for t in r["threads"] if t["nativeId"] == child][0]
        self.assertIn("parse_header", frames_of(main))
        self.assertEqual(main["state"], "running")
        self.assertIsNone(w.poll())


if __name__ == "__main__":
    unittest.main()
