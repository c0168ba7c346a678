"""Injection (ptrace) into processes that never imported the agent: a matrix of busy and idle
targets (single- and multi-threaded, a GIL held by another thread, several interpreters, an idle
prefork child), timeouts and cancels that must leave the target as it was, and clear errors."""
import glob
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from tests.helpers import (FIXTURES, Redis, Sandbox, children_of, client, have_celery, send_tasks, start_worker,
                           wait_for, wait_line)

CAN_INJECT = sys.platform.startswith("linux") and platform.machine() in ("x86_64", "amd64")
ON_DEBIAN_PY = os.path.realpath(sys.executable) == os.path.realpath("/usr/bin/python3")
# injections per target kind (the matrix below): the suite runs once per interpreter, so the full
# count only on Debian's; WL_INJECT_ROUNDS=50 for a soak run
ROUNDS = int(os.environ.get("WL_INJECT_ROUNDS") or (4 if ON_DEBIAN_PY else 1))
MATRIX = []  # (kind, tried, unharmed), printed when the module's tests are done


def tearDownModule():
    if MATRIX:
        sys.stderr.write("\ninjection matrix, python %s (kind: tried / target unharmed and answering):\n"
                         % platform.python_version())
        for kind, tried, ok in MATRIX:
            sys.stderr.write("  %-52s %d / %d\n" % (kind, tried, ok))


def inject(box, pid, *extra, **kw):
    env = kw.pop("env", None) or box.env()
    cmd = kw.pop("prefix", []) + [sys.executable, "-m", "workerlens_agent", "inject", str(pid), "--json"] + list(extra)
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, **kw)
    out = p.stdout.decode().strip()
    return p.returncode, (json.loads(out) if out else None), p.stderr.decode()


class Target(object):
    """A fixture process that prints `alive N` with a growing N while it makes progress."""

    def __init__(self, box, script, *args, **kw):
        self.log = tempfile.NamedTemporaryFile(prefix="wl-inject-", delete=False)
        self.proc = box.spawn([kw.get("python", sys.executable), os.path.join(FIXTURES, script)] + list(args),
                              stdout=self.log, stdin=subprocess.PIPE, env=box.env(PYTHONPATH=""))
        self.pid = self.proc.pid
        wait_for(lambda: self.last_alive() > 0, 90, "%s ready" % script)

    def last_alive(self):
        with open(self.log.name) as f:
            lines = [line for line in f.read().splitlines() if line.startswith("alive")]
        return int(lines[-1].split()[1]) if lines else 0

    def progressing(self, timeout=20):
        start = self.last_alive()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            if self.last_alive() > start:
                return True
            time.sleep(0.05)
        return False

    def how(self):
        """What the target is doing, for a failure message: its exit status, or each thread's state
        and kernel wait channel (a harmed target and a merely slow one look different here)."""
        code = self.proc.poll()
        if code is not None:
            return "target exited with %s" % (("signal %d" % -code) if code < 0 else "status %d" % code)
        rows = []
        try:
            for tid in sorted(os.listdir("/proc/%d/task" % self.pid), key=int):
                try:
                    with open("/proc/%d/task/%s/stat" % (self.pid, tid)) as f:
                        state = f.read().rsplit(")", 1)[1].split()[0]
                    with open("/proc/%d/task/%s/wchan" % (self.pid, tid)) as f:
                        wchan = f.read().strip() or "-"
                    rows.append("%s:%s/%s" % (tid, state, wchan))
                except OSError:
                    pass
        except OSError as e:
            return "target unreadable: %s" % e
        return "target alive, last 'alive %d', threads %s" % (self.last_alive(), " ".join(rows))

    def close(self):
        self.log.close()
        os.unlink(self.log.name)


def answers(info, pid):
    # generous: the agent's thread competes for the GIL with the target's busy threads, and the
    # test machine may be shared (load 20+ seen)
    try:
        c = client.connect(info, timeout=90)
        try:
            p = c.call("Python.getProcessInfo")
            return p["pid"] == pid and p["injected"] is True and c.call("Python.getObjectCounts", {"limit": 1})["totalObjects"] > 100
        finally:
            c.close()
    except Exception as e:
        sys.stderr.write("agent of %d does not answer: %s: %s\n" % (pid, type(e).__name__, e))
        return False


@unittest.skipUnless(CAN_INJECT, "injection needs x86-64 Linux")
class InjectMatrixTest(unittest.TestCase):
    """Every kind of target survives repeated injections and answers afterwards (issue 11: 9 of 10
    first injections hung a 5-thread busy target; a GIL held by another thread crashed it)."""

    @classmethod
    def setUpClass(cls):
        cls.box = Sandbox()

    @classmethod
    def tearDownClass(cls):
        cls.box.close()

    def run_kind(self, kind, script, *args, **kw):
        t = Target(self.box, script, *args, **kw)
        tried = ok = 0
        via = set()
        try:
            for i in range(kw.get("rounds", ROUNDS)):
                tried += 1
                code, info, err = inject(self.box, t.pid, "--force", "--timeout", "60")
                self.assertEqual(code, 0, "%s round %d: %s" % (kind, i, err))
                via.add(info.get("injectedVia"))
                self.assertTrue(t.progressing(), "%s: target stopped making progress after round %d (%s)" % (kind, i, t.how()))
                self.assertTrue(answers(info, t.pid), "%s: the agent does not answer after round %d" % (kind, i))
                ok += 1
        finally:
            MATRIX.append(("%s [%s]" % (kind, ",".join(sorted(str(v) for v in via))), tried, ok))
            t.close()

    def test_single_thread_busy_allocating(self):
        self.run_kind("1 thread, busy allocating", "busy_allocator.py")

    def test_five_busy_threads_busy_main(self):
        self.run_kind("5 busy threads + busy main", "busy_threads.py", "busy")

    def test_five_busy_threads_sleeping_main(self):
        self.run_kind("5 busy threads + sleeping main", "busy_threads.py", "sleep")

    def test_five_busy_threads_main_waiting_on_event(self):
        self.run_kind("5 busy threads + main on Event.wait", "busy_threads.py", "wait")

    def test_gil_held_by_another_thread(self):
        # the main thread sleeps, another thread holds the GIL ~1 s at a time in a regex
        self.run_kind("GIL held 1 s by a regex thread", "gil_hog.py", "1")

    @unittest.skipUnless(ON_DEBIAN_PY, "run from the Debian interpreter's suite only")
    def test_other_interpreters(self):
        root = subprocess.run(["pyenv", "root"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode().strip() \
            if shutil.which("pyenv") else ""
        found = 0
        for v in ("3.8", "3.9", "3.10", "3.12", "3.13"):
            for py in sorted(glob.glob(os.path.join(root, "versions", v + ".*", "bin", "python3")))[-1:] if root else []:
                found += 1
                self.run_kind("5 busy threads + busy main, py%s" % v, "busy_threads.py", "busy", python=py, rounds=2)
        if not found:
            self.skipTest("no pyenv interpreters here")


@unittest.skipUnless(CAN_INJECT, "injection needs x86-64 Linux")
class InjectTimeoutTest(unittest.TestCase):
    """A timeout or a cancel leaves the target exactly as it was: alive, progressing, no agent."""

    def setUp(self):
        self.box = Sandbox()
        # a regex holds the GIL ~4 s at a time with 50 ms breaks: started right after a break, the
        # injected thread cannot get the GIL before the injector gives up
        self.t = Target(self.box, "gil_hog.py", "4")

    def tearDown(self):
        self.box.close()
        self.t.close()

    def regexes(self):
        return self.t.last_alive() // 1000

    def right_after_a_regex(self):
        done = self.regexes()
        wait_for(lambda: self.regexes() > done or None, 60, "a regex to finish")

    def calm_then_inject(self):
        """The hog stops; now the target must take an agent and answer (it was not harmed)."""
        self.t.proc.stdin.write(b"calm\n")
        self.t.proc.stdin.flush()
        code, info, err = inject(self.box, self.t.pid, "--timeout", "60")
        self.assertEqual(code, 0, err)
        self.assertTrue(answers(info, self.t.pid))

    def test_timeout_withdraws_the_start(self):
        self.right_after_a_regex()
        code, info, err = inject(self.box, self.t.pid, "--timeout", "1")
        if code == 0:
            # the injected thread took the start in the instant the injector gave up (CI 2026-12-02,
            # 3.10 under load: the agent came up although the injector said "withdrawn"): now the
            # claim is atomic and the injector reports the agent it waited for — never "withdrawn"
            self.assertTrue(info.get("late"), info)
            self.assertTrue(answers(info, self.t.pid))
            self.skipTest("the target claimed the start at the deadline: reported as a late start (checked)")
        self.assertEqual((code, info["error"]["code"]), (1, "timeout"), err)
        self.assertIn("withdrawn", info["error"]["message"])
        self.right_after_a_regex()  # the injected thread had its chance at the GIL by now
        self.right_after_a_regex()
        self.assertEqual(self.box.all_discovery(), [], "no agent may start after the injector gave up")
        # one regex is ~4 s of CPU: at a load of 20 on 2 cores it ran > 20 s (seen: thread R, not hung)
        self.assertTrue(self.t.progressing(timeout=120), self.t.how())
        self.calm_then_inject()

    def test_cancel_withdraws_the_start(self):
        self.right_after_a_regex()
        cmd = [sys.executable, "-m", "workerlens_agent", "inject", str(self.t.pid), "--json", "--timeout", "60"]
        p = subprocess.Popen(cmd, env=self.box.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertIn(b"queued the agent's start", p.stderr.readline())  # in the target now
        p.send_signal(signal.SIGTERM)  # what the UI's Cancel does
        out, err = p.communicate(timeout=30)
        info = json.loads(out.decode())
        self.assertEqual((p.returncode, info["error"]["code"]), (1, "cancelled"), err)
        self.right_after_a_regex()
        self.right_after_a_regex()
        self.assertEqual(self.box.all_discovery(), [])
        # one regex is ~4 s of CPU: at a load of 20 on 2 cores it ran > 20 s (seen: thread R, not hung)
        self.assertTrue(self.t.progressing(timeout=120), self.t.how())
        self.calm_then_inject()


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

    def test_needs_no_gdb(self):
        t = Target(self.box, "busy_threads.py", "sleep")
        try:
            code, info, err = inject(self.box, t.pid, env=self.box.env(PATH="/nonexistent"))
            self.assertEqual(code, 0, err)
            self.assertTrue(answers(info, t.pid))
            # a second call reports the running agent instead of injecting again
            code, again, _ = inject(self.box, t.pid)
            self.assertEqual((code, again["alreadyRunning"], again["token"]), (0, True, info["token"]))
        finally:
            t.close()

    @unittest.skipUnless(os.getuid() == 0 and shutil.which("setpriv"), "needs root and setpriv")
    def test_ptrace_denied_for_another_user(self):
        t = Target(self.box, "busy_threads.py", "sleep")
        try:
            nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
            py = "/usr/bin/python3"
            cmd = nobody + [py, "-m", "workerlens_agent", "inject", str(t.pid), "--json"]
            p = subprocess.run(cmd, env=self.box.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            code, info, err = p.returncode, json.loads(p.stdout.decode()), p.stderr.decode()
            self.assertEqual(code, 1)
            self.assertEqual(info["error"]["code"], "ptrace-denied")
            self.assertIn("ptrace_scope", info["error"]["hint"])
            self.assertIn("SYS_PTRACE", info["error"]["hint"])
            self.assertEqual(len(err.strip().splitlines()), 1, err)
            self.assertTrue(t.progressing(), t.how())
        finally:
            t.close()

    def test_bad_arguments(self):
        p = subprocess.run([sys.executable, "-m", "workerlens_agent", "inject", "abc"], env=self.box.env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 2)
        self.assertIn("usage", p.stderr.decode())


@unittest.skipUnless(CAN_INJECT and have_celery(), "needs x86-64 Linux, celery and redis-server")
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
            tried = ok = 0
            infos = {}
            try:
                for i in range(max(2, ROUNDS)):
                    pid = children[i % 2]
                    tried += 1
                    code, info, err = inject(box, pid, "--timeout", "60", *(["--force"] if i >= 2 else []))
                    self.assertEqual(code, 0, err)
                    self.assertEqual((info["pid"], info["role"], info["pool"]), (pid, "child", "prefork"))
                    self.assertTrue(info["processName"].startswith("ForkPoolWorker-"))
                    c = client.connect(info)
                    try:
                        pinfo = c.call("Python.getProcessInfo")
                        self.assertEqual((pinfo["ppid"], pinfo["injected"]), (worker.pid, True))
                    finally:
                        c.close()
                    infos[pid] = info
                    ok += 1
            finally:
                MATRIX.append(("idle prefork child (Celery)", tried, ok))
            # both children still take tasks, and their agents count them
            send_tasks(box, redis, "from tasks import leak\nfor i in range(40): leak.apply_async((i, 8), queue='inject')")

            def runs():
                total = 0
                for info in infos.values():
                    c = client.connect(info)
                    try:
                        total += sum(t["runs"] for t in c.call("Python.getTaskStats")["tasks"])
                    finally:
                        c.close()
                return total == 40 or total
            wait_for(runs, 60, "40 tasks run by the injected children")
            self.assertIsNone(worker.poll())
        finally:
            box.close()


if __name__ == "__main__":
    unittest.main()
