"""Under gevent/eventlet monkey-patching the agent still runs in a real thread with a real socket."""
import os
import subprocess
import sys
import unittest

from tests.helpers import FIXTURES, Sandbox, client, wait_line


def has(module):
    return subprocess.call([sys.executable, "-c", "import " + module], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL) == 0


class GreenTest(unittest.TestCase):
    def check(self, lib):
        box = Sandbox()
        try:
            p = box.spawn([sys.executable, os.path.join(FIXTURES, "green_busy.py"), lib, "30"])
            wait_line(p, "ready")
            c = client.connect(box.discovery(p.pid), timeout=10)
            try:
                self.assertEqual(c.call("Python.getProcessInfo")["pid"], p.pid)
                self.assertGreater(c.call("Python.getObjectCounts", {"limit": 3})["totalObjects"], 100)
            finally:
                c.close()
        finally:
            box.close()

    @unittest.skipUnless(has("gevent"), "gevent not installed for this interpreter")
    def test_gevent(self):
        self.check("gevent")

    @unittest.skipUnless(has("eventlet"), "eventlet not installed for this interpreter")
    def test_eventlet(self):
        self.check("eventlet")


if __name__ == "__main__":
    unittest.main()
