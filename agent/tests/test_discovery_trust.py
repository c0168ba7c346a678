"""Discovery files and error replies under hostile conditions, on the real file system (issue 11):
planted hard links, a full disk, a directory planted by another user, SIGTERM on `run`, and what an
internal error tells a client."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from tests.helpers import FIXTURES, Sandbox, client, wait_for, wait_line

from workerlens_agent import discovery

NOBODY_UID = 65534


class WriteTest(unittest.TestCase):
    def setUp(self):
        self.runtime = tempfile.mkdtemp(prefix="wl-disc-")
        self.old = os.environ.get("XDG_RUNTIME_DIR")
        os.environ["XDG_RUNTIME_DIR"] = self.runtime

    def tearDown(self):
        if self.old is None:
            os.environ.pop("XDG_RUNTIME_DIR", None)
        else:
            os.environ["XDG_RUNTIME_DIR"] = self.old
        shutil.rmtree(self.runtime, ignore_errors=True)

    def test_planted_hard_link_at_the_temp_name_gets_no_token(self):
        d = os.path.join(self.runtime, "workerlens")
        os.mkdir(d, 0o700)
        victim = os.path.join(self.runtime, "victim.txt")
        with open(victim, "w") as f:
            f.write("precious")
        os.link(victim, os.path.join(d, ".4242.%d.tmp" % os.getpid()))
        path = discovery.write({"pid": 4242, "token": "secret-token"})
        with open(victim) as f:
            self.assertEqual(f.read(), "precious")
        with open(path) as f:
            self.assertEqual(json.load(f)["token"], "secret-token")
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)

    @unittest.skipUnless(os.getuid() == 0, "needs root to chown")
    def test_directory_of_another_user_is_refused(self):
        d = os.path.join(self.runtime, "workerlens")
        os.mkdir(d, 0o700)
        os.chown(d, NOBODY_UID, NOBODY_UID)
        with self.assertRaises(OSError) as cm:
            discovery.write({"pid": 4242, "token": "secret-token"})
        self.assertIn("not a directory owned by uid", str(cm.exception))
        self.assertEqual(os.listdir(d), [])


def _mount_full_tmpfs(path):
    if os.getuid() != 0 or not shutil.which("mount"):
        return False
    if subprocess.call(["mount", "-t", "tmpfs", "-o", "size=8k,mode=700", "tmpfs", path],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) != 0:
        return False
    os.mkdir(os.path.join(path, "workerlens"), 0o700)
    with open(os.path.join(path, "filler"), "wb") as f:
        try:
            f.write(b"x" * 65536)
            f.flush()
        except OSError:
            pass
    return True


class FullDiskTest(unittest.TestCase):
    def setUp(self):
        self.box = Sandbox()
        self.mnt = tempfile.mkdtemp(prefix="wl-full-")
        if not _mount_full_tmpfs(self.mnt):
            os.rmdir(self.mnt)
            self.skipTest("needs root and a tmpfs mount")

    def tearDown(self):
        self.box.close()
        subprocess.call(["umount", self.mnt])
        os.rmdir(self.mnt)

    def test_inject_reports_the_full_disk_and_leaves_no_file(self):
        target = self.box.spawn([sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(60)"],
                                env=self.box.env(XDG_RUNTIME_DIR=self.mnt, PYTHONPATH=""))
        wait_line(target, "ready")
        p = subprocess.run([sys.executable, "-m", "workerlens_agent", "inject", str(target.pid), "--json", "--timeout", "30"],
                           env=self.box.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        err = json.loads(p.stdout.decode())["error"]
        self.assertEqual(err["code"], "failed", err)
        self.assertIn("could not write the discovery file", err["message"])
        self.assertIn("No space left on device", err["message"])
        self.assertEqual(os.listdir(os.path.join(self.mnt, "workerlens")), [], "no empty or temp file left behind")
        self.assertIsNone(target.poll())


@unittest.skipUnless(os.getuid() == 0, "needs root to plant a directory as another user")
class InjectorTrustTest(unittest.TestCase):
    def test_injector_refuses_a_planted_discovery_directory(self):
        box = Sandbox()
        try:
            target = box.spawn([sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(60)"],
                               env=box.env(PYTHONPATH=""))
            wait_line(target, "ready")
            d = box.discovery_dir
            os.mkdir(d, 0o755)
            with open(os.path.join(d, "%d.json" % target.pid), "w") as f:
                json.dump({"pid": target.pid, "host": "127.0.0.1", "port": 1, "token": "fake"}, f)
            os.chown(d, NOBODY_UID, NOBODY_UID)
            p = subprocess.run([sys.executable, "-m", "workerlens_agent", "inject", str(target.pid), "--json"],
                               env=box.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            err = json.loads(p.stdout.decode())["error"]
            self.assertEqual(err["code"], "untrusted-discovery", err)
            self.assertIn("belongs to uid 65534", err["message"])
        finally:
            box.close()


class RunTest(unittest.TestCase):
    def setUp(self):
        self.box = Sandbox()

    def tearDown(self):
        self.box.close()

    def test_sigterm_removes_the_discovery_file(self):
        p = self.box.spawn([sys.executable, "-m", "workerlens_agent", "run", os.path.join(FIXTURES, "leaky_script.py")],
                           stdin=subprocess.PIPE)
        wait_line(p, "ready")
        info = self.box.discovery(p.pid)
        path = os.path.join(self.box.discovery_dir, "%d.json" % p.pid)
        self.assertTrue(os.path.exists(path))
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(10), -signal.SIGTERM, "still dies of SIGTERM, as without the agent")
        self.assertFalse(os.path.exists(path), "discovery file left behind")
        del info

    def test_internal_errors_carry_no_traceback_or_path(self):
        p = self.box.spawn([sys.executable, "-m", "workerlens_agent", "run", os.path.join(FIXTURES, "leaky_script.py")],
                           stdin=subprocess.PIPE)
        wait_line(p, "ready")
        c = client.connect(self.box.discovery(p.pid))
        try:
            c._next += 1
            c.send_frame(0x1, json.dumps({"id": c._next, "method": "HeapProfiler.startSampling",
                                          "params": {"stackDepth": "deep"}}).encode())
            while True:
                op, data = c.read_frame()
                if op == 0x1:
                    reply = json.loads(data.decode())
                    if reply.get("id") == c._next:
                        break
            self.assertEqual(set(reply["error"]), {"code", "message"})
            self.assertEqual(reply["error"]["code"], -32603)
            self.assertNotIn("/", reply["error"]["message"])
            self.assertNotIn("Traceback", json.dumps(reply))
            self.assertEqual(c.call("Python.getProcessInfo")["pid"], p.pid)
        finally:
            c.close()


if __name__ == "__main__":
    unittest.main()
