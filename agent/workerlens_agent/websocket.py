"""RFC 6455 WebSocket framing over a blocking socket: server side, text messages, bounded sizes."""
import base64
import hashlib
import struct

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

CLOSE_NORMAL = 1000
CLOSE_PROTOCOL = 1002
CLOSE_UNSUPPORTED = 1003
CLOSE_BAD_DATA = 1007
CLOSE_TOO_BIG = 1009


class WebSocketClosed(Exception):
    """The peer closed, or we closed because of a protocol violation (code says which)."""

    def __init__(self, code, reason=""):
        Exception.__init__(self, "websocket closed %d %s" % (code, reason))
        self.code = code
        self.reason = reason


def valid_key(client_key):
    """RFC 6455: the key is the base64 of 16 bytes (anything else gets a 400, never an exception)."""
    if not client_key:
        return False
    try:
        raw = base64.b64decode(client_key.strip().encode("ascii"), validate=True)
    except (ValueError, UnicodeError):
        return False
    return len(raw) == 16


def accept_key(client_key):
    digest = hashlib.sha1(client_key.strip().encode("ascii") + GUID).digest()
    return base64.b64encode(digest).decode("ascii")


def encode_frame(opcode, payload):
    """A single unmasked, final server frame."""
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return header + payload


def _unmask(payload, mask):
    # XOR with the 4-byte mask at C speed: int.from_bytes over the whole buffer.
    if not payload:
        return payload
    n = len(payload)
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


class FrameReader(object):
    """Reads whole messages; answers pings, enforces masking and the size limit."""

    def __init__(self, recv_exact, send_raw, max_message):
        self._recv = recv_exact
        self._send = send_raw
        self._max = max_message

    def read_message(self):
        """Next complete text/binary message as bytes (binary is refused). Raises WebSocketClosed."""
        parts = []
        total = 0
        started = False
        while True:
            b0, b1 = struct.unpack("!BB", self._recv(2))
            fin = b0 & 0x80
            if b0 & 0x70:
                raise WebSocketClosed(CLOSE_PROTOCOL, "reserved bits set")
            opcode = b0 & 0x0F
            if not b1 & 0x80:
                raise WebSocketClosed(CLOSE_PROTOCOL, "client frames must be masked")
            length = b1 & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._recv(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._recv(8))[0]
                if length >> 63:
                    raise WebSocketClosed(CLOSE_PROTOCOL, "bad length")
            if opcode >= 0x8:
                if length > 125 or not fin:
                    raise WebSocketClosed(CLOSE_PROTOCOL, "bad control frame")
            elif total + length > self._max:
                raise WebSocketClosed(CLOSE_TOO_BIG, "message larger than %d bytes" % self._max)
            mask = self._recv(4)
            payload = _unmask(self._recv(length), mask) if length else b""
            if opcode == OP_PING:
                self._send(encode_frame(OP_PONG, payload))
                continue
            if opcode == OP_PONG:
                continue
            if opcode == OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else CLOSE_NORMAL
                raise WebSocketClosed(code, "peer closed")
            if opcode == OP_CONT:
                if not started:
                    raise WebSocketClosed(CLOSE_PROTOCOL, "continuation without a start")
            elif opcode in (OP_TEXT, OP_BINARY):
                if started:
                    raise WebSocketClosed(CLOSE_PROTOCOL, "new message inside a fragmented one")
                if opcode == OP_BINARY:
                    raise WebSocketClosed(CLOSE_UNSUPPORTED, "binary messages are not CDP")
                started = True
            else:
                raise WebSocketClosed(CLOSE_PROTOCOL, "unknown opcode %d" % opcode)
            parts.append(payload)
            total += length
            if fin:
                return b"".join(parts)
