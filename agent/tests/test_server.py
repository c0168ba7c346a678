"""The agent's HTTP/WebSocket/CDP surface over real sockets, in a real `run` subprocess."""
import json
import os
import socket
import struct
import sys
import unittest

from tests.helpers import FIXTURES, Sandbox, client, count_of, http_get, wait_line

from workerlens_agent import websocket as ws
from workerlens_agent.server import is_loopback_host


class ServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.box = Sandbox()
        cls.proc = cls.box.spawn([sys.executable, "-m", "workerlens_agent", "run",
                                  os.path.join(FIXTURES, "leaky_script.py")], stdin=__import__("subprocess").PIPE)
        wait_line(cls.proc, "ready")
        cls.info = cls.box.discovery(cls.proc.pid)

    @classmethod
    def tearDownClass(cls):
        cls.box.close()

    def command(self, text):
        self.proc.stdin.write((text + "\n").encode())
        self.proc.stdin.flush()
        wait_line(self.proc, "ok")

    def assert_serving(self):
        c = client.connect(self.info)
        try:
            self.assertEqual(c.call("Python.getProcessInfo")["pid"], self.proc.pid)
        finally:
            c.close()

    def test_discovery_file_fields_and_permissions(self):
        path = os.path.join(self.box.discovery_dir, "%d.json" % self.proc.pid)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(self.box.discovery_dir).st_mode & 0o777, 0o700)
        for key in ("pid", "ppid", "host", "port", "token", "role", "processName", "workerName", "pool",
                    "pythonVersion", "executable", "agentVersion", "startedAt"):
            self.assertIn(key, self.info)
        self.assertEqual(self.info["role"], "process")
        self.assertEqual(self.info["host"], "127.0.0.1")

    def test_json_list_points_at_the_token(self):
        status, body = http_get(self.info["port"], "/json/list")
        self.assertEqual(status, 200)
        targets = json.loads(body)
        self.assertEqual(targets[0]["webSocketDebuggerUrl"],
                         "ws://127.0.0.1:%d/%s" % (self.info["port"], self.info["token"]))
        status, body = http_get(self.info["port"], "/json/protocol")
        domains = [d["domain"] for d in json.loads(body)["domains"]]
        self.assertIn("Python", domains)

    def test_counts_follow_the_leak(self):
        c = client.connect(self.info)
        try:
            before = count_of(c.call("Python.getObjectCounts"), "Payload", "__main__")
            self.command("leak 250")
            after = c.call("Python.getObjectCounts", {"limit": 50})
            self.assertEqual(count_of(after, "Payload", "__main__") - before, 250)
            self.assertLessEqual(len(after["counts"]), 50)
            self.assertGreater(after["totalObjects"], 1000)
        finally:
            c.close()

    def test_refusals_keep_the_agent_serving(self):
        port = self.info["port"]
        self.assertEqual(http_get(port, "/json/list", {"Host": "evil.example:%d" % port})[0], 403)
        self.assertEqual(http_get(port, "/json/list", {"Origin": "http://evil.example"})[0], 403)
        status, _ = http_get(port, "/deadbeef", {"Upgrade": "websocket", "Connection": "Upgrade",
                                                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                                                "Sec-WebSocket-Version": "13"})
        self.assertEqual(status, 403)
        # garbage instead of HTTP
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"\x00\xff garbage\r\n\r\n")
        s.recv(1024)
        s.close()
        # oversized frame (claims 2 GiB): closed with 1009
        c = client.connect(self.info)
        c.sock.sendall(struct.pack("!BBQ", 0x81, 0xFF, 1 << 31) + b"\x00\x00\x00\x00")
        op, data = c.read_frame()
        self.assertEqual((op, struct.unpack("!H", data[:2])[0]), (ws.OP_CLOSE, ws.CLOSE_TOO_BIG))
        c.sock.close()
        # unmasked frame: protocol error
        c = client.connect(self.info)
        c.send_frame(ws.OP_TEXT, b"{}", mask=False)
        op, data = c.read_frame()
        self.assertEqual((op, struct.unpack("!H", data[:2])[0]), (ws.OP_CLOSE, ws.CLOSE_PROTOCOL))
        c.sock.close()
        self.assert_serving()

    def test_cdp_errors_keep_the_connection(self):
        c = client.connect(self.info)
        try:
            c.send_frame(ws.OP_TEXT, b"{not json")
            op, data = c.read_frame()
            self.assertEqual(json.loads(data)["error"]["code"], -32700)
            with self.assertRaisesRegex(RuntimeError, "wasn't found"):
                c.call("Nope.nothing")
            with self.assertRaisesRegex(RuntimeError, "limit"):
                c.call("Python.getObjectCounts", {"limit": "x"})
            # fragmented message + ping in the middle
            msg = json.dumps({"id": 99, "method": "Python.getResourceCounts"}).encode()
            c.send_frame(ws.OP_TEXT, msg[:10], fin=False)
            c.send_frame(ws.OP_PING, b"hi")
            op, data = c.read_frame()
            self.assertEqual((op, data), (ws.OP_PONG, b"hi"))
            c.send_frame(ws.OP_CONT, msg[10:], fin=True)
            op, data = c.read_frame()
            reply = json.loads(data)
            self.assertEqual(reply["id"], 99)
            self.assertGreaterEqual(reply["result"]["threads"], 2)
            # 64-bit length form for a normal message
            big = json.dumps({"id": 100, "method": "Python.getTaskStats", "params": {"pad": "y" * 70000}}).encode()
            c.send_frame(ws.OP_TEXT, big)
            op, data = c.read_frame()
            self.assertEqual(json.loads(data)["result"]["tasks"], [])
        finally:
            c.close()

    def test_other_methods(self):
        c = client.connect(self.info)
        try:
            stacks = c.call("Python.getThreadStacks")["threads"]
            main = [t for t in stacks if not t["isAgent"]]
            self.assertTrue(any(f["url"].endswith("leaky_script.py") for t in main for f in t["frames"]))
            self.assertTrue(any(t["isAgent"] for t in stacks))
            usage = c.call("Runtime.getHeapUsage")
            self.assertGreater(usage["usedSize"], 0)
            c.call("HeapProfiler.startSampling", {"stackDepth": 4})
            self.command("leak 100")
            prof = c.call("HeapProfiler.stopSampling")["profile"]
            urls = set()

            def walk(n):
                urls.add(n["callFrame"]["url"])
                for ch in n["children"]:
                    walk(ch)
            walk(prof["head"])
            self.assertTrue(any(u.endswith("leaky_script.py") for u in urls), urls)
            self.assertFalse(any("workerlens_agent" in u for u in urls))
        finally:
            c.close()


class HostHeaderTest(unittest.TestCase):
    def test_loopback_names(self):
        for good in ("localhost", "localhost:9229", "127.0.0.1:1", "127.1.2.3", "[::1]:80", "[::1]"):
            self.assertTrue(is_loopback_host(good), good)
        for bad in ("", None, "evil.com", "127.0.0.1.evil.com", "localhost.evil.com:80", "[::2]", "10.0.0.1",
                    "127.0.0.1:x", "localhost:80:80"):
            self.assertFalse(is_loopback_host(bad), bad)


if __name__ == "__main__":
    unittest.main()
