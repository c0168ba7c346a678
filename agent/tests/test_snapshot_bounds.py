"""Heap snapshots that cannot hurt the worker (issue 11): no user code (exec() locals mappings,
metaclass __eq__, Thread properties, os.register_at_fork hooks), one at a time, and a client that
disconnects or never reads cancels the fork child, which is reaped."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from tests.helpers import FIXTURES, HeapSnapshot, Sandbox, children_of, client, take_snapshot, wait_for, wait_line

from workerlens_agent import websocket as ws


class HostileSnapshotTest(unittest.TestCase):
    def test_snapshot_runs_no_user_code(self):
        box = Sandbox()
        log = tempfile.mktemp(prefix="wl-hostile-snap-")
        try:
            p = box.spawn([sys.executable, "-m", "workerlens_agent", "run", os.path.join(FIXTURES, "hostile_snapshot.py")],
                          env=box.env(WL_HOSTILE_LOG=log))
            wait_line(p, "ready")
            c = client.connect(box.discovery(p.pid))
            try:
                text, result, _ = take_snapshot(c)
                self.assertEqual(result["mode"], "fork")
                snap = HeapSnapshot(text)
                self.assertIn("exec-locals-marker", snap.strings, "the exec() locals stay reachable")
                c.call("HeapProfiler.collectGarbage")
            finally:
                c.close()
            time.sleep(0.3)
            calls = open(log).read().splitlines() if os.path.exists(log) else []
            self.assertEqual(calls, [], "user code ran during the snapshot (pid: call)")
            # the fixture's hooks are real: a plain os.fork in the worker would have logged them
            self.assertIsNone(p.poll())
        finally:
            box.close()
            if os.path.exists(log):
                os.unlink(log)


def raw_ws(info):
    s = socket.create_connection(("127.0.0.1", info["port"]))
    s.sendall(("GET /%s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n" % info["token"]).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    return s


def send_snapshot_request(s):
    payload = json.dumps({"id": 1, "method": "HeapProfiler.takeHeapSnapshot", "params": {}}).encode()
    key = os.urandom(4)
    s.sendall(bytes([0x81, 0x80 | len(payload)]) + key + ws._unmask(payload, key))


class SnapshotBoundsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.box = Sandbox()
        cls.proc = cls.box.spawn([sys.executable, "-m", "workerlens_agent", "run", os.path.join(FIXTURES, "leaky_script.py")],
                                 stdin=subprocess.PIPE, env=cls.box.env(WORKERLENS_PING_AFTER="1"))
        wait_line(cls.proc, "ready")
        cls.proc.stdin.write(b"leak 200000\n")
        cls.proc.stdin.flush()
        wait_line(cls.proc, "ok", 60)
        cls.info = cls.box.discovery(cls.proc.pid)

    @classmethod
    def tearDownClass(cls):
        cls.box.close()

    def no_children(self, within):
        wait_for(lambda: children_of(self.proc.pid) == [] or None, within, "the snapshot child to be reaped")

    def works_afterwards(self):
        c = client.connect(self.info)
        try:
            _t, result, _e = take_snapshot(c)
            self.assertGreater(result["nodeCount"], 200000)
        finally:
            c.close()

    def test_second_concurrent_snapshot_is_refused(self):
        s = raw_ws(self.info)
        try:
            send_snapshot_request(s)
            wait_for(lambda: children_of(self.proc.pid) or None, 10, "the first snapshot's child")
            c = client.connect(self.info)
            try:
                with self.assertRaises(RuntimeError) as cm:
                    c.call("HeapProfiler.takeHeapSnapshot")
                self.assertIn("one at a time", str(cm.exception))
            finally:
                c.close()
        finally:
            s.close()
        self.no_children(30)
        self.works_afterwards()

    def test_client_that_never_reads_cancels_and_reaps_the_child(self):
        s = raw_ws(self.info)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        try:
            send_snapshot_request(s)
            wait_for(lambda: children_of(self.proc.pid) or None, 10, "the snapshot child")
            self.no_children(20)  # send blocked for WORKERLENS_PING_AFTER=1 s, then the child was killed
        finally:
            s.close()
        self.works_afterwards()

    def test_disconnect_cancels_and_reaps_the_child(self):
        s = raw_ws(self.info)
        send_snapshot_request(s)
        wait_for(lambda: children_of(self.proc.pid) or None, 10, "the snapshot child")
        s.close()
        self.no_children(20)
        self.works_afterwards()


if __name__ == "__main__":
    unittest.main()
