"""A minimal CDP WebSocket client (stdlib): used by `inject` to check the endpoint and by the tests."""
import base64
import json
import os
import socket
import struct

from . import websocket as ws


class CdpClient(object):
    def __init__(self, host, port, token, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode("ascii")
        self.sock.sendall(("GET /%s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
                           % (token, host, port, key)).encode("ascii"))
        head = b""
        while b"\r\n\r\n" not in head:
            data = self.sock.recv(4096)
            if not data:
                raise ConnectionError("agent closed the connection during the handshake")
            head += data
        head, _, self._buf = head.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status:
            try:
                self.sock.settimeout(2)
                body = self._buf + self.sock.recv(4096)
            except OSError:
                body = self._buf
            self.sock.close()
            raise ConnectionError("handshake refused: %s %s" % (status.decode("latin-1"), body[:200].decode("latin-1")))
        self._next = 0
        self.events = []

    def _recv_exact(self, n):
        while len(self._buf) < n:
            data = self.sock.recv(1 << 20)
            if not data:
                raise ConnectionError("connection closed")
            self._buf += data
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def send_frame(self, opcode, payload, fin=True, mask=True):
        n = len(payload)
        b0 = (0x80 if fin else 0) | opcode
        if n < 126:
            header = struct.pack("!BB", b0, (0x80 if mask else 0) | n)
        elif n < 65536:
            header = struct.pack("!BBH", b0, (0x80 if mask else 0) | 126, n)
        else:
            header = struct.pack("!BBQ", b0, (0x80 if mask else 0) | 127, n)
        if mask:
            key = os.urandom(4)
            payload = ws._unmask(payload, key)
            header += key
        self.sock.sendall(header + payload)

    def read_frame(self):
        b0, b1 = struct.unpack("!BB", self._recv_exact(2))
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._recv_exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._recv_exact(8))[0]
        return b0 & 0x0F, self._recv_exact(n)

    def call(self, method, params=None, on_event=None):
        self._next += 1
        msg_id = self._next
        self.send_frame(ws.OP_TEXT, json.dumps({"id": msg_id, "method": method, "params": params or {}}).encode())
        while True:
            op, data = self.read_frame()
            if op == ws.OP_CLOSE:
                raise ConnectionError("agent closed the connection")
            if op == ws.OP_PING:
                self.send_frame(ws.OP_PONG, data)
                continue
            if op != ws.OP_TEXT:
                continue
            msg = json.loads(data.decode("utf-8"))
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError("%s failed: %s" % (method, msg["error"].get("message")))
                return msg["result"]
            if on_event is not None:
                on_event(msg)
            else:
                self.events.append(msg)

    def close(self):
        try:
            self.send_frame(ws.OP_CLOSE, struct.pack("!H", 1000))
        except Exception:
            pass
        try:
            self.sock.close()
        except Exception:
            pass


def connect(info, timeout=60.0):
    return CdpClient(info.get("host") or "127.0.0.1", info["port"], info["token"], timeout=timeout)
