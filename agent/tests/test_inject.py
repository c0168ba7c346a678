"""Injection with gdb into processes that never imported the agent: idle prefork child, busy
allocating process (many times in a row), and clear errors (ptrace denied, not Python, no gdb...)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from tests.helpers import (AGENT_DIR, FIXTURES, Redis, Sandbox, children_of, client, have_celery, start_worker,
                           wait_for, wait_line)

HAVE_GDB = shutil.which("gdb") is not None
ON_DEBIAN_PY = os.path.realpath(sys.executable) == os.path.realpath("/usr/bin/python3")
# 50 in a row on Debian's interpreter (the bar); fewer elsewhere to keep the matrix lean
ROUNDS = int(os.environ.get("WL_INJECT_ROUNDS") or (50 if ON_DEBIAN_PY else 3))


def inject(box, pid, *extra, **kw):
    env = kw.pop("env", None) or box.env()
    cmd = kw.pop("prefix", []) + [sys.executable, "-m", "workerlens_agent", "inject", str(pid), "--json"] + list(extra)
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, **kw)
    out = p.stdout.decode().strip()
    return p.returncode, (json.loads(out) if out else None), p.stderr.decode()


@unittest.skipUnless(HAVE_GDB and sys.platform.startswith("linux"), "needs gdb on Linux")
class InjectBusyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.box = Sandbox()
        cls.log = tempfile.NamedTemporaryFile(prefix="wl-busy-", delete=False)
        cls.target = cls.box.spawn([sys.executable, os.path.join(FIXTURES, "busy_allocator.py")],
                                   stdout=cls.log, env=cls.box.env(PYTHONPATH=""))
        wait_for(lambda: os.path.getsize(cls.log.name) > 0, 20, "busy target ready")

    @classmethod
    def tearDownClass(cls):
        cls.box.close()
        cls.log.close()
        os.unlink(cls.log.name)

    def last_alive(self):
        with open(self.log.name) as f:
            lines = [line for line in f.read().splitlines() if line.startswith("alive")]
        return int(lines[-1].split()[1]) if lines else 0

    def test_busy_process_many_injections(self):
        tokens = set()
        tasks = "/proc/%d/task" % self.target.pid
        for i in range(ROUNDS):
            # Let the previous round's agent connection threads finish exiting: gdb 13 attaching while
            # a thread exits was seen to hang (the injector then times out cleanly; see the report).
            wait_for(lambda: len(os.listdir(tasks)) <= 2 or None, 10, "agent threads to settle")
            # --force: a real gdb injection every round (the payload restarts the agent)
            code, info, err = inject(self.box, self.target.pid, "--force")
            self.assertEqual(code, 0, "round %d: %s" % (i, err))
            self.assertEqual(info["pid"], self.target.pid)
            c = client.connect(info)
            try:
                pinfo = c.call("Python.getProcessInfo")
                self.assertEqual((pinfo["pid"], pinfo["injected"]), (self.target.pid, True))
            finally:
                c.close()
            tokens.add(info["token"])  # (ports of stopped agents may legitimately be reused)
            self.assertIsNone(self.target.poll(), "target died after round %d" % i)
        self.assertEqual(len(tokens), ROUNDS, "every round started a fresh agent")
        progress = self.last_alive()
        wait_for(lambda: self.last_alive() > progress, 10, "target still making progress")
        # without --force a running agent is reported, not injected again
        code, info, _ = inject(self.box, self.target.pid)
        self.assertEqual((code, info["alreadyRunning"]), (0, True))
        c = client.connect(info)
        try:
            self.assertGreater(c.call("Python.getObjectCounts", {"limit": 5})["totalObjects"], 1000)
        finally:
            c.close()

    @unittest.skipUnless(os.getuid() == 0 and shutil.which("setpriv"), "needs root and setpriv")
    def test_ptrace_denied_for_another_user(self):
        # the unprivileged injector needs an interpreter it may execute (pyenv's live under /root)
        py = sys.executable
        nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        if subprocess.call(nobody + [py, "-c", "import workerlens_agent"], env=self.box.env(),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) != 0:
            py = "/usr/bin/python3"
            if subprocess.call(nobody + [py, "-c", "import workerlens_agent"], env=self.box.env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) != 0:
                self.skipTest("user nobody can run neither %s nor /usr/bin/python3 with the agent" % sys.executable)
        cmd = nobody + [py, "-m", "workerlens_agent", "inject", str(self.target.pid), "--json"]
        p = subprocess.run(cmd, env=self.box.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        code, info, err = p.returncode, json.loads(p.stdout.decode()), p.stderr.decode()
        self.assertEqual(code, 1)
        self.assertEqual(info["error"]["code"], "ptrace-denied")
        self.assertIn("ptrace_scope", info["error"]["hint"])
        self.assertIn("SYS_PTRACE", info["error"]["hint"])
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIsNone(self.target.poll())


@unittest.skipUnless(sys.platform.startswith("linux"), "Linux /proc")
class InjectErrorsTest(unittest.TestCase):
    def setUp(self):
        self.box = Sandbox()

    def tearDown(self):
        self.box.close()

    def test_not_python(self):
        p = self.box.spawn(["sleep", "30"])
        code, info, err = inject(self.box, p.pid)
        self.assertEqual((code, info["error"]["code"]), (1, "not-python"))

    def test_not_found(self):
        code, info, err = inject(self.box, 2 ** 22 + 12345)
        self.assertEqual((code, info["error"]["code"]), (1, "not-found"))
        self.assertIn("not-found", err)

    def test_no_gdb(self):
        p = self.box.spawn([sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(30)"])
        wait_line(p, "ready")
        code, info, err = inject(self.box, p.pid, env=self.box.env(PATH="/nonexistent"))
        self.assertEqual((code, info["error"]["code"]), (1, "no-gdb"))
        self.assertIn("apt-get install gdb", info["error"]["hint"])

    def test_bad_arguments(self):
        p = subprocess.run([sys.executable, "-m", "workerlens_agent", "inject", "abc"], env=self.box.env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 2)
        self.assertIn("usage", p.stderr.decode())


@unittest.skipUnless(HAVE_GDB and have_celery(), "needs gdb, celery and redis-server")
class InjectPreforkChildTest(unittest.TestCase):
    def test_idle_prefork_child(self):
        box = Sandbox()
        try:
            redis = Redis(box)
            worker = start_worker(box, redis, "--pool", "prefork", "-c", "2", "-Q", "inject")
            children = wait_for(lambda: (lambda c: c if len(c) == 2 else None)(children_of(worker.pid)), 30,
                                "two prefork children")
            time.sleep(0.5)  # let the child settle into its idle read()
            self.assertEqual(box.all_discovery(), [], "no agent before injection")
            code, info, err = inject(box, children[0], "--timeout", "60")
            self.assertEqual(code, 0, err)
            self.assertEqual((info["pid"], info["role"], info["pool"]), (children[0], "child", "prefork"))
            self.assertTrue(info["processName"].startswith("ForkPoolWorker-"))
            c = client.connect(info)
            try:
                pinfo = c.call("Python.getProcessInfo")
                self.assertEqual((pinfo["ppid"], pinfo["injected"]), (worker.pid, True))
            finally:
                c.close()
            self.assertIsNone(worker.poll())
        finally:
            box.close()


if __name__ == "__main__":
    unittest.main()
