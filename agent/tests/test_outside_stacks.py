"""Stacks read from outside (/proc/PID/mem): a target holding the GIL in C, threads that come and
go mid-read, a process we may not read, and the target is never stopped or harmed."""
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import unittest

from tests.helpers import AGENT_DIR, Sandbox, wait_line

TARGET = textwrap.dedent('''
    import re, sys, threading, time
    lk = threading.Lock(); lk.acquire()
    def parked_sleeper():
        time.sleep(1000)
    def parked_on_lock():
        with lk:
            pass
    def churn():
        while True:
            t = threading.Thread(target=time.sleep, args=(0.001,)); t.start(); t.join()
    for f in (parked_sleeper, parked_on_lock) + ((churn,) * int(sys.argv[2])):
        threading.Thread(target=f, daemon=True).start()
    def catastrophic_regex():
        return re.match(r"(a+)+$", "a" * 60 + "b")
    print("ready", flush=True)
    if sys.argv[1] == "regex":
        catastrophic_regex()
    else:
        time.sleep(1000)
''')


def outside(python, pid, user=None):
    cmd = [python, "-m", "workerlens_agent", "outside-stacks", str(pid)]
    if user:
        cmd = ["setpriv", "--reuid=%s" % user, "--regid=nogroup", "--clear-groups"] + cmd
    env = dict(os.environ, PYTHONPATH=AGENT_DIR)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=60)
    return p.returncode, json.loads(p.stdout.decode().strip().splitlines()[-1])


def interpreters():
    out = ["/usr/bin/python3"] if os.path.exists("/usr/bin/python3") else []
    try:
        root = subprocess.check_output(["pyenv", "root"]).decode().strip()
        for v in sorted(os.listdir(os.path.join(root, "versions"))):
            parts = v.split(".")
            if len(parts) == 3 and parts[0] == "3" and int(parts[1]) >= 11:
                out.append(os.path.join(root, "versions", v, "bin", "python3"))
    except Exception:
        pass
    return out


def kernel_state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


ONE_RUN = os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) == os.path.realpath("/usr/bin/python3")


@unittest.skipUnless(ONE_RUN, "runs once, under /usr/bin/python3: it drives every interpreter itself")
class OutsideStacksTest(unittest.TestCase):
    def setUp(self):
        self.box = Sandbox()
        self.script = os.path.join(self.box.dir, "target.py")
        with open(self.script, "w") as f:
            f.write(TARGET)

    def tearDown(self):
        self.box.close()

    def start(self, python, mode, churners=0):
        p = self.box.spawn([python, self.script, mode, str(churners)])
        wait_line(p, "ready")
        time.sleep(0.3)
        return p

    def test_gil_held_in_c_every_interpreter(self):
        pys = interpreters()
        self.assertTrue(pys)
        for python in pys:
            with self.subTest(python=python):
                p = self.start(python, "regex")
                code, r = outside(python, p.pid)
                self.assertEqual(code, 0, r)
                self.assertEqual(r["source"], "outside")
                main = [t for t in r["threads"] if t["nativeId"] == p.pid][0]
                names = [f["functionName"] for f in main["frames"]]
                self.assertIn("catastrophic_regex", names)
                fr = main["frames"][names.index("catastrophic_regex")]
                self.assertEqual((fr["url"], fr["lineNumber"] + 1), (self.script, TARGET.splitlines().index(
                    '    return re.match(r"(a+)+$", "a" * 60 + "b")') + 1))
                self.assertEqual(main["state"], "running")
                sleeper = [t for t in r["threads"] if t["frames"] and t["frames"][0]["functionName"] == "parked_sleeper"]
                self.assertEqual(sleeper[0]["state"], "sleeping")
                locked = [t for t in r["threads"] if t["frames"] and t["frames"][0]["functionName"] == "parked_on_lock"]
                self.assertEqual(locked[0]["state"], "waiting")
                self.assertIsNone(p.poll())
                self.assertEqual(kernel_state(p.pid), "R")  # still computing: never stopped

    def test_threads_exiting_mid_read(self):
        p = self.start("/usr/bin/python3", "sleep", churners=4)
        for _ in range(15):
            code, r = outside("/usr/bin/python3", p.pid)
            self.assertEqual(code, 0, r)
            self.assertTrue(any(t["frames"] and t["frames"][0]["functionName"] == "parked_sleeper" for t in r["threads"]))
        self.assertIsNone(p.poll())

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("setpriv"), "needs root and setpriv to run as nobody")
    def test_process_we_may_not_read(self):
        p = self.start("/usr/bin/python3", "sleep")
        code, r = outside("/usr/bin/python3", p.pid, user="nobody")
        self.assertEqual(code, 1)
        self.assertEqual(r["error"]["code"], "ptrace-denied", r)
        self.assertIn("may not read the memory of pid %d" % p.pid, r["error"]["message"])
        self.assertIsNone(p.poll())

    def test_older_interpreter_says_so(self):
        old = []
        try:
            root = subprocess.check_output(["pyenv", "root"]).decode().strip()
            old = [os.path.join(root, "versions", v, "bin", "python3") for v in os.listdir(os.path.join(root, "versions"))
                   if v.startswith("3.10.")]
        except Exception:
            pass
        if not old:
            self.skipTest("no 3.10 here")
        p = self.start(old[0], "sleep")
        code, r = outside(old[0], p.pid)
        self.assertEqual((code, r["error"]["code"]), (1, "unsupported-version"))


if __name__ == "__main__":
    unittest.main()
