"""Shared helpers for the agent tests: start real processes, find their discovery files, talk CDP."""
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

AGENT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(AGENT_DIR)
FIXTURES = os.path.join(REPO, "test", "fixtures", "agent")
if AGENT_DIR not in sys.path:
    sys.path.insert(0, AGENT_DIR)

from workerlens_agent import client  # noqa: E402


class Sandbox(object):
    """A private XDG_RUNTIME_DIR so discovery files of parallel runs never mix."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="wl-test-")
        os.chmod(self.dir, 0o700)
        self.procs = []

    @property
    def discovery_dir(self):
        return os.path.join(self.dir, "workerlens")

    def env(self, **extra):
        env = dict(os.environ)
        env["XDG_RUNTIME_DIR"] = self.dir
        env["PYTHONPATH"] = AGENT_DIR + (os.pathsep + extra.pop("PYTHONPATH") if "PYTHONPATH" in extra else "")
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("WORKERLENS", None)
        env.update(extra)
        return env

    def spawn(self, args, **kw):
        kw.setdefault("env", self.env())
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        p = subprocess.Popen(args, start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def discovery(self, pid, timeout=15.0):
        path = os.path.join(self.discovery_dir, "%d.json" % pid)
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with open(path) as f:
                    return json.load(f)
            except (OSError, ValueError):
                time.sleep(0.05)
        raise AssertionError("no discovery file for pid %d after %.0fs" % (pid, timeout))

    def all_discovery(self):
        out = []
        for path in sorted(glob.glob(os.path.join(self.discovery_dir, "*.json"))):
            try:
                with open(path) as f:
                    out.append(json.load(f))
            except (OSError, ValueError):
                pass
        return out

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except OSError:
                    pass
            try:
                p.wait(5)
            except Exception:
                pass
            for s in (p.stdout, p.stderr):
                if s:
                    s.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_line(proc, text, timeout=20.0):
    """Read proc.stdout until a line containing text (the fixture scripts print 'ready')."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError("process exited before printing %r: %s" % (text, proc.stderr.read()[-2000:]))
        if text in line.decode("utf-8", "replace"):
            return
    raise AssertionError("timed out waiting for %r" % text)


def http_get(port, path, headers=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    h = {"Host": "127.0.0.1:%d" % port}
    h.update(headers or {})
    req = "GET %s HTTP/1.1\r\n%s\r\n" % (path, "".join("%s: %s\r\n" % kv for kv in h.items()))
    s.sendall(req.encode("latin-1"))
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    return status, body


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def count_of(result, type_name, module=None):
    for row in result["counts"]:
        if row["type"] == type_name and (module is None or row["module"] == module):
            return row["count"]
    return 0


class HeapSnapshot(object):
    """An independent check of a .heapsnapshot: counts, ids, reachability, retainer paths."""

    def __init__(self, text):
        snap = json.loads(text)
        self.raw = snap
        m = snap["snapshot"]["meta"]
        self.nf, self.ef = len(m["node_fields"]), len(m["edge_fields"])
        self.node_types, self.edge_types = m["node_types"][0], m["edge_types"][0]
        self.nodes, self.edges, self.strings = snap["nodes"], snap["edges"], snap["strings"]
        self.n = len(self.nodes) // self.nf
        self.first = [0] * (self.n + 1)
        for i in range(self.n):
            self.first[i + 1] = self.first[i] + self.nodes[i * self.nf + 4]

    def node_type(self, i):
        return self.node_types[self.nodes[i * self.nf]]

    def name(self, i):
        return self.strings[self.nodes[i * self.nf + 1]]

    def node_id(self, i):
        return self.nodes[i * self.nf + 2]

    def edge_name(self, e):
        kind = self.edge_types[self.edges[e * self.ef]]
        value = self.edges[e * self.ef + 1]
        return "[%d]" % value if kind in ("element", "hidden") else self.strings[value]

    def out(self, i):
        for e in range(self.first[i], self.first[i + 1]):
            yield e, self.edges[e * self.ef + 2] // self.nf

    def bfs(self):
        """Shortest paths from the root, skipping weak edges: {node: (parent, edge)}."""
        from collections import deque
        prev = {0: None}
        queue = deque([0])
        while queue:
            i = queue.popleft()
            for e, t in self.out(i):
                if self.edge_types[self.edges[e * self.ef]] == "weak" or t in prev:
                    continue
                prev[t] = (i, e)
                queue.append(t)
        return prev

    def path(self, prev, i):
        names = []
        while prev[i] is not None:
            parent, e = prev[i]
            names.append(self.edge_name(e))
            i = parent
        return list(reversed(names))

    def find(self, name, node_type="object"):
        return [i for i in range(self.n) if self.name(i) == name and self.node_type(i) == node_type]


def take_snapshot(c, progress=False):
    chunks = []
    events = []

    def on_event(msg):
        if msg.get("method") == "HeapProfiler.addHeapSnapshotChunk":
            chunks.append(msg["params"]["chunk"])
        else:
            events.append(msg)
    result = c.call("HeapProfiler.takeHeapSnapshot", {"reportProgress": progress}, on_event=on_event)
    return "".join(chunks), result, events


CELERY_PY = "/usr/bin/python3"
EXAMPLE = os.path.join(REPO, "examples", "celery-leaky")


def have_celery():
    if not os.path.exists(CELERY_PY) or not shutil.which("redis-server"):
        return False
    return subprocess.call([CELERY_PY, "-c", "import celery, redis"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL) == 0


class Redis(object):
    """A throwaway redis-server on a free loopback port."""

    def __init__(self, box):
        self.port = free_port()
        self.proc = box.spawn(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--daemonize", "no"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=1)
                s.sendall(b"PING\r\n")
                if s.recv(100).startswith(b"+PONG"):
                    s.close()
                    return
                s.close()
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start on port %d" % self.port)

    @property
    def url(self):
        return "redis://127.0.0.1:%d/0" % self.port


def start_worker(box, redis, *args, **env_extra):
    env = box.env(CELERY_BROKER_URL=redis.url, **env_extra)
    cmd = [CELERY_PY, "-m", "celery", "-A", "tasks", "worker", "-l", "warning", "--without-heartbeat",
           "--without-mingle", "--without-gossip", "-n", "wl-%d@localhost" % redis.port] + list(args)
    return box.spawn(cmd, cwd=EXAMPLE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def send_tasks(box, redis, code):
    """Runs producer code (with `from tasks import ...`) in the example's directory."""
    env = box.env(CELERY_BROKER_URL=redis.url)
    subprocess.check_call([CELERY_PY, "-c", code], cwd=EXAMPLE, env=env, timeout=60)


def children_of(pid):
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open("/proc/%s/stat" % name) as f:
                    stat = f.read()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(name))
            except (OSError, ValueError, IndexError):
                pass
    return sorted(out)


def wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))
