"""Loopback HTTP discovery (/json/*) and the CDP WebSocket, in real daemon threads.

Each connection gets its own thread; a misbehaving client only ever costs its own connection.
"""
import errno
import hmac
import json
import os
import socket
import struct
import sys
import time

from . import websocket as ws
from ._compat import originals

MAX_HEADER_BYTES = 16 * 1024
MAX_MESSAGE_BYTES = 1024 * 1024  # CDP requests are small; anything bigger is refused (close 1009)
# Other users' connections are refused at accept() (never a thread, never a slot). Among the
# owner's: HTTP requests / handshakes in progress and WebSocket sessions are counted apart, so a
# pile of half-sent requests cannot keep the UI out, and neither kind waits forever.
MAX_PENDING = 16
MAX_SESSIONS = 16
HANDSHAKE_TIMEOUT = 5.0  # for the whole request, however slowly it drips in
PING_AFTER = float(os.environ.get("WORKERLENS_PING_AFTER") or 60.0)  # a silent WebSocket gets a ping; no answer within PING_AFTER more: closed


def is_loopback_host(value):
    """True for a Host header naming loopback: localhost, 127.x.y.z, [::1], with an optional port."""
    if not value:
        return False
    host = value.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return False
        rest = host[end + 1:]
        if rest and not (rest.startswith(":") and rest[1:].isdigit()):
            return False
        return host[1:end] == "::1"
    if host.count(":") == 1:
        host, port = host.split(":")
        if not port.isdigit():
            return False
    elif ":" in host:
        return False
    if host in ("localhost", "localhost."):
        return True
    parts = host.split(".")
    return len(parts) == 4 and parts[0] == "127" and all(p.isdigit() and int(p) < 256 for p in parts)


def _proc_net_addr(addr):
    """A socket address as /proc/net/tcp{,6} prints it: host bytes as native-endian 32-bit words, port."""
    host, port = addr[0], addr[1]
    if ":" in host:
        raw = socket.inet_pton(socket.AF_INET6, host)
        words = struct.unpack("=4I", raw)
        text = "".join("%08X" % w for w in words)
        return "tcp6", "%s:%04X" % (text, port)
    return "tcp", "%08X:%04X" % (struct.unpack("=I", socket.inet_aton(host))[0], port)


def _peer_uid_netlink(local_addr, peer_addr):
    """uid of the peer's socket by an exact sock_diag lookup of its 4-tuple (NETLINK_SOCK_DIAG), or None.

    One kernel lookup, so unlike reading /proc/net/tcp it cannot miss the row while the table
    changes. The answer also says the socket's state: only ESTABLISHED counts."""
    v6 = ":" in peer_addr[0]
    family = socket.AF_INET6 if v6 else socket.AF_INET

    def raw(host):
        b = socket.inet_pton(family, host)
        return b + b"\0" * (16 - len(b))
    # inet_diag_req_v2: family, protocol, ext, pad, states; inet_diag_sockid: sport, dport (big
    # endian), src[16], dst[16], if, cookie[2] (INET_DIAG_NOCOOKIE)
    sockid = struct.pack("!HH", peer_addr[1], local_addr[1]) + raw(peer_addr[0]) + raw(local_addr[0]) + \
        struct.pack("=III", 0, 0xFFFFFFFF, 0xFFFFFFFF)
    req = struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 0, 0, 1 << 1) + sockid
    msg = struct.pack("=IHHII", 16 + len(req), 20, 1, 1, 0) + req  # SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 4)  # NETLINK_SOCK_DIAG
    try:
        s.settimeout(1.0)
        s.sendto(msg, (0, 0))
        data = s.recv(8192)
    finally:
        s.close()
    if len(data) < 16 + 72:
        return None
    _length, mtype = struct.unpack_from("=IH", data, 0)
    if mtype != 20:  # NLMSG_ERROR (2): no such socket, or sock_diag unavailable
        return None
    state = data[17]
    if state != 1:  # TCP_ESTABLISHED
        return None
    sport, dport = struct.unpack_from("!HH", data, 20)
    if (sport, dport) != (peer_addr[1], local_addr[1]):
        return None
    return struct.unpack_from("=I", data, 16 + 64)[0]


def _peer_uid_proc(local_addr, peer_addr):
    table, want_local = _proc_net_addr(peer_addr)
    _t, want_remote = _proc_net_addr(local_addr)
    uids = []
    try:
        with open("/proc/net/" + table) as f:
            next(f)
            for line in f:
                cols = line.split()
                if len(cols) > 7 and cols[3] == "01" and cols[1] == want_local and cols[2] == want_remote:
                    uids.append(int(cols[7]))
    except (OSError, StopIteration, ValueError):
        return None
    return uids[0] if len(uids) == 1 else None


def _peer_uid(local_addr, peer_addr):
    """uid owning the peer's end of this loopback TCP connection, or None when it cannot be known.

    Only the ESTABLISHED socket whose local end is the peer's (address, port) and whose remote end
    is ours counts: TIME_WAIT sockets (shown as uid 0), half-closed ones and ones that merely share
    a port are ignored. sock_diag first (exact); /proc/net/tcp{,6} where netlink is unavailable,
    read up to three times (a read can skip a row while other connections come and go)."""
    try:
        uid = _peer_uid_netlink(local_addr, peer_addr)
        if uid is not None:
            return uid
    except Exception:
        pass
    for _ in range(3):
        uid = _peer_uid_proc(local_addr, peer_addr)
        if uid is not None:
            return uid
    return None


def _refuse_now(conn, status, message):
    """From the accept loop: a short answer without a thread; a peer that does not read loses it."""
    try:
        conn.settimeout(0.2)
        body = json.dumps({"error": message}).encode("utf-8")
        conn.sendall(("HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Length: %d\r\n"
                      "Connection: close\r\n\r\n" % (status, "Forbidden" if status == 403 else "Service Unavailable",
                                                        len(body))).encode("latin-1") + body)
    except Exception:
        pass
    try:  # read what already arrived so close() sends FIN, not a reset that loses the answer
        conn.setblocking(False)
        conn.recv(MAX_HEADER_BYTES)
    except Exception:
        pass
    try:
        conn.close()
    except Exception:
        pass


class HttpError(Exception):
    def __init__(self, status, message):
        Exception.__init__(self, message)
        self.status = status
        self.message = message


class Connection(object):
    def __init__(self, server, sock):
        self.server = server
        self.sock = sock
        self.send_lock = originals().allocate_lock()
        self.closed = False
        self.is_session = False
        self._pinged = False
        self.ws_parts = ()

    # -- raw I/O -------------------------------------------------------------------------------
    def recv_exact(self, n):
        chunks = []
        while n > 0:
            try:
                data = self.sock.recv(min(n, 1 << 20))
            except socket.timeout:
                if self._pinged:
                    raise ws.WebSocketClosed(1006, "no answer to a ping")
                self._pinged = True
                self.send_raw(ws.encode_frame(ws.OP_PING, b"wl"))
                continue
            self._pinged = False
            if not data:
                raise ws.WebSocketClosed(1006, "connection lost")
            chunks.append(data)
            n -= len(data)
        return b"".join(chunks)

    def send_raw(self, data):
        with self.send_lock:
            if self.closed:
                raise ws.WebSocketClosed(1006, "connection closed")
            self.sock.sendall(data)

    def send_json(self, obj):
        text = json.dumps(obj, separators=(",", ":"), allow_nan=False)
        self.send_raw(ws.encode_frame(ws.OP_TEXT, text.encode("utf-8")))

    def close(self):
        """Called by the connection's own thread only (see shutdown)."""
        with self.send_lock:
            if self.closed:
                return
            self.closed = True
        try:
            self.sock.close()
        except Exception:
            pass

    def shutdown(self):
        """From another thread: wake the connection's thread without freeing its fd. Closing an fd that
        another thread is blocked on lets a new socket reuse the number under that thread's feet."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except Exception:
            pass

    # -- HTTP ----------------------------------------------------------------------------------
    def read_request(self):
        buf = b""
        deadline = time.monotonic() + HANDSHAKE_TIMEOUT
        while b"\r\n\r\n" not in buf:
            if len(buf) > MAX_HEADER_BYTES:
                raise HttpError(431, "request header too large")
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("request not complete within %.0fs" % HANDSHAKE_TIMEOUT)
            self.sock.settimeout(left)
            data = self.sock.recv(4096)
            if not data:
                raise HttpError(400, "connection closed during request")
            buf += data
        head, _, rest = buf.partition(b"\r\n\r\n")
        if len(head) > MAX_HEADER_BYTES:
            raise HttpError(431, "request header too large")
        try:
            lines = head.decode("latin-1").split("\r\n")
            method, target, version = lines[0].split(" ")
        except ValueError:
            raise HttpError(400, "malformed request line")
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise HttpError(400, "malformed header line")
            headers[name.strip().lower()] = value.strip()
        return method, target, headers, rest

    def respond(self, status, body, content_type="application/json; charset=UTF-8"):
        reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
                  405: "Method Not Allowed", 431: "Request Header Fields Too Large",
                  503: "Service Unavailable"}.get(status, "Error")
        if not isinstance(body, bytes):
            body = body.encode("utf-8")
        head = ("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                "Cache-Control: no-store\r\nConnection: close\r\n\r\n" % (status, reason, content_type, len(body)))
        try:
            self.sock.sendall(head.encode("latin-1") + body)
        except Exception:
            pass

    def refuse(self, status, message):
        self.respond(status, json.dumps({"error": message}))

    # -- lifecycle -----------------------------------------------------------------------------
    def run(self):
        try:
            self._serve()
        except Exception:
            pass  # never let a client's behaviour reach the host
        finally:
            self.close()
            self.server.connection_done(self)

    def _serve(self):
        agent = self.server.agent
        try:
            method, target, headers, rest = self.read_request()
        except HttpError as e:
            return self.refuse(e.status, e.message)
        except (socket.timeout, OSError, ws.WebSocketClosed):
            return
        if not is_loopback_host(headers.get("host")):
            return self.refuse(403, "Host header must name loopback (localhost, 127.0.0.1, [::1])")
        if headers.get("origin"):
            return self.refuse(403, "browser origins are refused")
        if method != "GET":
            return self.refuse(405, "only GET is served")
        path = target.split("?", 1)[0]
        if path in ("/json", "/json/list"):
            return self.respond(200, json.dumps([agent.target_description()], indent=2))
        if path == "/json/version":
            return self.respond(200, json.dumps(agent.version_description(), indent=2))
        if path == "/json/protocol":
            return self.respond(200, agent.protocol_text())
        if headers.get("upgrade", "").lower() == "websocket":
            if not hmac.compare_digest(path.encode("utf-8", "replace"), ("/" + agent.token).encode("ascii")):
                return self.refuse(403, "wrong token: read it from /json/list or the discovery file")
            key = headers.get("sec-websocket-key")
            if not ws.valid_key(key) or headers.get("sec-websocket-version") != "13":
                return self.refuse(400, "bad WebSocket handshake (need a base64 Sec-WebSocket-Key, version 13)")
            if not self.server.promote(self):
                return self.refuse(503, "too many WebSocket sessions (%d)" % MAX_SESSIONS)
            self.sock.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                               "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n"
                               % ws.accept_key(key)).encode("latin-1"))
            self.sock.settimeout(PING_AFTER)
            self._websocket(rest)
            return
        return self.refuse(404, "unknown path %s" % path[:100])

    def _websocket(self, leftover):
        pending = [leftover]

        def recv_exact(n):
            if pending[0]:
                have = pending[0]
                if len(have) >= n:
                    pending[0] = have[n:]
                    return have[:n]
                pending[0] = b""
                return have + self.recv_exact(n - len(have))
            return self.recv_exact(n)

        reader = ws.FrameReader(recv_exact, self.send_raw, MAX_MESSAGE_BYTES)
        self.ws_parts = (pending, recv_exact, reader)  # the agent's own: counts leave them out (ownobjects)
        session = self.server.agent.new_session(self)
        try:
            while True:
                try:
                    message = reader.read_message()
                except ws.WebSocketClosed as e:
                    if e.code != 1006:
                        try:
                            code = e.code if e.code in (1000, 1002, 1003, 1007, 1009) else 1000
                            self.send_raw(ws.encode_frame(ws.OP_CLOSE, code.to_bytes(2, "big")))
                        except Exception:
                            pass
                    return
                session.handle_text(message)
        finally:
            session.dispose()


class Server(object):
    def __init__(self, agent, host="127.0.0.1", port=0):
        o = originals()
        self.agent = agent
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = o.socket(family, socket.SOCK_STREAM)
        try:
            self.sock.bind((host, port))
            self.sock.listen(16)
        except Exception:
            self.sock.close()
            raise
        self.host = host
        self.port = self.sock.getsockname()[1]
        self._lock = o.allocate_lock()
        self._connections = set()
        self._stopped = False
        self._uid = os.getuid()

    def start(self):
        originals().start_new_thread(self._accept_loop, ())

    def peer_allowed(self, sock):
        """Same user (or root) only: the token is readable by this user, the port by anyone local.
        Refused when the peer's uid cannot be established (fail closed)."""
        if not sys.platform.startswith("linux"):
            return True
        try:
            uid = _peer_uid(sock.getsockname(), sock.getpeername())
        except Exception:
            return False
        return uid is not None and (uid == self._uid or uid == 0)

    def _accept_loop(self):
        self.agent.register_thread()
        try:
            self._accept_until_stopped()
        finally:
            # only this thread closes the listening socket: stop() merely shuts it down, so the fd
            # number cannot be reused by a newer agent's socket while accept() still holds it here
            try:
                self.sock.close()
            except Exception:
                pass
            self.agent.unregister_thread()

    def _accept_until_stopped(self):
        while not self._stopped:
            try:
                # _accept() + the original class: socket.accept() would wrap the fd in the module's
                # (possibly gevent-patched) socket class, which only runs when the hub does
                fd, _addr = self.sock._accept()
                conn = originals().socket(self.sock.family, self.sock.type, self.sock.proto, fileno=fd)
            except OSError as e:
                if self._stopped or e.errno in (errno.EBADF, errno.EINVAL):
                    return
                originals().sleep(0.05)
                continue
            except Exception:
                return
            if self._stopped:
                try:
                    conn.close()
                except Exception:
                    pass
                return
            try:
                if not self.peer_allowed(conn):
                    _refuse_now(conn, 403, "the connecting process belongs to another user (or its owner is unknown)")
                    continue
                with self._lock:
                    pending = sum(1 for c in self._connections if not c.is_session)
                    too_many = pending >= MAX_PENDING
                    c = Connection(self, conn)
                    if not too_many:
                        self._connections.add(c)
                if too_many:
                    _refuse_now(conn, 503, "too many requests in progress")
                    continue
                originals().start_new_thread(self._run_connection, (c,))
            except Exception:
                try:
                    conn.close()
                except Exception:
                    pass

    def promote(self, c):
        """A request that authenticated becomes a session, counted apart (False: sessions are full)."""
        with self._lock:
            if sum(1 for x in self._connections if x.is_session) >= MAX_SESSIONS:
                return False
            c.is_session = True
            return True

    def _run_connection(self, c):
        self.agent.register_thread()
        try:
            c.run()
        finally:
            self.agent.unregister_thread()

    def connection_done(self, c):
        with self._lock:
            self._connections.discard(c)

    def stop(self):
        self._stopped = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # accept() fails from now on; its thread closes
        except Exception:
            pass
        with self._lock:
            conns = list(self._connections)
        for c in conns:
            c.shutdown()

    def abandon_after_fork(self):
        """In a forked child: drop the inherited fds without touching the parent's sockets."""
        self._stopped = True
        for s in [self.sock] + [c.sock for c in list(self._connections)]:
            try:
                s.close()  # close() of an inherited fd only affects this process; never shutdown()
            except Exception:
                pass
        self._connections = set()
