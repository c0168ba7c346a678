"""/metrics: the Prometheus text exposition format (0.0.4), served by the worker's main process.

render() turns flight-recorder reports (the main's own, in memory, and its pool children's, read
from their files) into metric families; figures are the recorder's latest samples, so a scrape
never walks the heap. MetricsServer is a plain HTTP/1.0-style responder on one real OS thread
(unpatched socket, so it also runs under gevent/eventlet), loopback unless told otherwise.
Cardinality is bounded: one `process` label per pool slot, at most 10 type names per process,
at most 40 task names per process (+ "other"), a fixed set of exit reasons.
"""
import time

from ._compat import originals
from .protocol import AGENT_VERSION
from .recorder import BUCKETS
from .stderrlog import log as _log

EXIT_REASONS = ("max_tasks_per_child", "max_memory_per_child", "oom_killer", "sigkill", "signal", "error",
                "shutdown", "recycled", "unknown")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MAX_REQUEST = 8192


def escape(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs):
    if not pairs:
        return ""
    return "{" + ",".join('%s="%s"' % (k, escape(v)) for k, v in pairs) + "}"


def _num(v):
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    if v != v:
        return "NaN"
    return repr(float(v))


class _Families(object):
    def __init__(self):
        self.order = []
        self.fam = {}

    def add(self, name, kind, help_text, labels, value, suffix=""):
        f = self.fam.get(name)
        if f is None:
            f = self.fam[name] = {"kind": kind, "help": help_text, "samples": []}
            self.order.append(name)
        f["samples"].append((name + suffix, labels, value))

    def text(self):
        out = []
        for name in self.order:
            f = self.fam[name]
            out.append("# HELP %s %s" % (name, f["help"].replace("\\", "\\\\").replace("\n", "\\n")))
            out.append("# TYPE %s %s" % (name, f["kind"]))
            for sname, labels, value in f["samples"]:
                out.append("%s%s %s" % (sname, _labels(labels), _num(value)))
        return "\n".join(out) + "\n"


def process_label(report):
    if report.get("role") == "main":
        return "main"
    idx = report.get("childIndex")
    return "child-%d" % idx if isinstance(idx, int) else "pid-%d" % report.get("pid", 0)


def render(main_report, children, exits, health, now=None):
    """Exposition text. children: live child reports; exits: {reason: n}; health: scrape facts."""
    now = time.time() if now is None else now
    F = _Families()
    reports = [r for r in [main_report] + list(children) if r]
    by_label = {}
    for r in reports:  # a recycled slot briefly has two reports: the newer process wins
        lab = process_label(r)
        if lab not in by_label or r.get("startedAt", 0) > by_label[lab].get("startedAt", 0):
            by_label[lab] = r
    info = main_report or (reports[0] if reports else {})
    F.add("workerlens_agent_info", "gauge", "Worker Lens agent and worker facts (value 1).",
          [("version", AGENT_VERSION), ("python", info.get("pythonVersion") or ""),
           ("worker", info.get("workerName") or ""), ("pool", info.get("pool") or "")], 1)
    for lab in sorted(by_label):
        r = by_label[lab]
        P = [("process", lab)]
        F.add("workerlens_process_info", "gauge", "Pid and name of each worker process (value 1).",
              P + [("pid", r.get("pid")), ("name", r.get("processName") or "")], 1)
        age = max(0.0, now - float(r.get("updatedAt") or 0))
        interval = float(r.get("intervalSeconds") or 5)
        F.add("workerlens_agent_up", "gauge",
              "1 when the process's flight-recorder report is fresh (younger than 3 refresh intervals + 5 s).",
              P, 1 if age < 3 * interval + 5 else 0)
        F.add("workerlens_report_age_seconds", "gauge", "Seconds since the process's figures were sampled.",
              P, round(age, 3))
        rec = r.get("recorder") or {}
        F.add("workerlens_recorder_paused", "gauge",
              "1 while the flight recorder cannot write its report (disk full, read-only); the reason is in the report and the worker log.",
              P, 1 if rec.get("paused") else 0)
        F.add("workerlens_agent_errors_total", "counter", "Flight-recorder refreshes that failed.",
              P, int(rec.get("errors") or 0))
        F.add("workerlens_process_start_time_seconds", "gauge", "Start time of the process (Unix seconds).",
              P, float(r.get("startedAt") or 0))
        if isinstance(r.get("rssBytes"), int):
            F.add("workerlens_process_resident_memory_bytes", "gauge", "Resident set size (/proc/self/statm).",
                  P, r["rssBytes"])
        if isinstance(r.get("maxRssBytes"), int):
            F.add("workerlens_process_max_resident_memory_bytes", "gauge", "Peak resident set size (getrusage).",
                  P, r["maxRssBytes"])
        mem = r.get("memory") or {}
        for key in sorted((mem.get("parts") or {})):
            F.add("workerlens_memory_part_bytes", "gauge",
                  "Parts of RSS from the memory breakdown (Python.getMemoryBreakdown; each part exact or estimated, sampled with the object counts).",
                  P + [("part", key)], mem["parts"][key])
        obj = r.get("objects")
        if obj:
            F.add("workerlens_python_gc_objects", "gauge", "Objects the garbage collector tracks (gc.get_objects(), sampled).",
                  P, int(obj.get("total") or 0))
            F.add("workerlens_python_counts_age_seconds", "gauge",
                  "Seconds since the object counts were taken (they are sampled at most 0.5 % of wall time).",
                  P, round(max(0.0, now - float(obj.get("at") or 0)), 3))
            for g in obj.get("growing") or ():
                F.add("workerlens_python_type_objects", "gauge",
                      "Live objects of the 10 types that grew most since the process's first count.",
                      P + [("type", g["type"])], int(g["count"]))
            for g in obj.get("growing") or ():
                F.add("workerlens_python_type_growth_objects", "gauge",
                      "Growth in live objects since the process's first count, for the 10 types that grew most.",
                      P + [("type", g["type"])], int(g["growth"]))
        tasks = r.get("tasks") or {}
        for name in sorted(tasks.get("runs") or {}):
            for state in ("succeeded", "failed"):
                F.add("workerlens_tasks_total", "counter", "Tasks run in the process, by task name and state.",
                      P + [("task", name), ("state", state)], int(tasks["runs"][name].get(state) or 0))
        bounds = tasks.get("bucketBounds") or list(BUCKETS)
        for name in sorted(tasks.get("memDelta") or {}):
            h = tasks["memDelta"][name]
            cum = h.get("cumulative") or []
            if len(cum) != len(bounds) + 1:
                continue
            for b, c in zip(bounds, cum):
                F.add("workerlens_task_memory_delta_bytes", "histogram",
                      "Change in the process's RSS over one task run, by task name (negative: memory returned).",
                      P + [("task", name), ("le", _num(float(b)))], c, "_bucket")
            F.add("workerlens_task_memory_delta_bytes", "histogram", "", P + [("task", name), ("le", "+Inf")],
                  cum[-1], "_bucket")
            F.add("workerlens_task_memory_delta_bytes", "histogram", "", P + [("task", name)], int(h.get("sum") or 0),
                  "_sum")
            F.add("workerlens_task_memory_delta_bytes", "histogram", "", P + [("task", name)], int(h.get("count") or 0),
                  "_count")
    for reason in EXIT_REASONS:
        F.add("workerlens_pool_child_exits_total", "counter",
              "Pool children that exited since the main process started, by reason (recycled at max_tasks/max_memory_per_child, killed, ...).",
              [("reason", reason)], int(exits.get(reason, 0)))
    F.add("workerlens_metrics_report_files_skipped", "gauge",
          "Report files skipped at this scrape (truncated, corrupt or foreign); the worker log names them.",
          [], int(health.get("skipped", 0)))
    F.add("workerlens_metrics_last_scrape_duration_seconds", "gauge",
          "Time the previous scrape took in the worker's main process.", [], float(health.get("lastSeconds", 0.0)))
    return F.text()


def parse_address(text):
    """'HOST:PORT', '[v6]:PORT', ':PORT' or 'PORT' -> (host, port); ValueError says what is wrong."""
    t = (text or "").strip()
    if not t:
        raise ValueError("empty address (expected HOST:PORT, e.g. 127.0.0.1:9808)")
    if t.startswith("["):
        host, sep, port = t[1:].partition("]:")
        if not sep:
            raise ValueError("%r: expected [IPv6]:PORT" % text)
    elif ":" in t:
        host, _, port = t.rpartition(":")
    else:
        host, port = "", t
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("%r: the port must be a number from 1 to 65535" % text)
    return host or "127.0.0.1", int(port)


class MetricsServer(object):
    def __init__(self, host, port, provider):
        self.host, self.port, self.provider = host, port, provider
        self.sock = None
        self.scrapes = 0
        self.errors = 0
        self.last_seconds = 0.0
        self.last_cpu_seconds = 0.0
        self._stopped = False

    def start(self):
        """Bind and serve; returns self, or None after one clear log line (the worker keeps running)."""
        import _socket
        o = originals()
        s = None
        try:
            infos = _socket.getaddrinfo(self.host, self.port, 0, _socket.SOCK_STREAM)
            family, _t, _p, _c, addr = infos[0]
            s = o.socket(family, _socket.SOCK_STREAM)
            s.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
            s.bind(addr)
            s.listen(16)
        except OSError as e:
            if s is not None:
                s.close()
            what = "is in use" if getattr(e, "errno", None) == 98 else "cannot be bound"
            _log("/metrics not served: %s:%d %s (%s); the worker keeps running without metrics"
                 % (self.host, self.port, what, e.strerror or e))
            return None
        self.sock = s
        self.port = s.getsockname()[1]
        o.start_new_thread(self._serve, ())
        return self

    def stop(self):
        """Shut the socket down; the serving thread closes it (so its fd is not reused under accept())."""
        self._stopped = True
        try:
            import _socket
            self.sock.shutdown(_socket.SHUT_RDWR)
        except Exception:
            pass

    def _serve(self):
        try:
            self._serve_until_stopped()
        finally:
            try:
                self.sock.close()
            except Exception:
                pass

    def _serve_until_stopped(self):
        o = originals()
        while not self._stopped:
            try:
                # _accept() + the original class: accept() would wrap the fd in a gevent-patched class
                fd, _addr = self.sock._accept()
                conn = o.socket(self.sock.family, self.sock.type, self.sock.proto, fileno=fd)
            except OSError as e:
                if self._stopped or e.errno in (9, 22):  # EBADF, EINVAL: shut down
                    return
                o.sleep(0.05)
                continue
            except Exception:
                return
            if self._stopped:
                conn.close()
                return
            try:
                self._handle(conn)
            except Exception:
                pass
            finally:
                try:
                    conn.close()
                except Exception:
                    pass

    def _handle(self, conn):
        conn.settimeout(5.0)
        data = b""
        while b"\r\n\r\n" not in data and b"\n\n" not in data and len(data) < MAX_REQUEST:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        line = data.split(b"\n", 1)[0].decode("latin-1", "replace").strip().split()
        if len(line) < 2:
            return self._reply(conn, 400, "text/plain", b"bad request\n")
        method, path = line[0], line[1].split("?", 1)[0]
        if method not in ("GET", "HEAD"):
            return self._reply(conn, 405, "text/plain", b"only GET\n")
        if path == "/metrics":
            t0, c0 = time.perf_counter(), _thread_time()
            try:
                body = self.provider(self).encode("utf-8")
            except Exception as e:  # say so to the scraper (and once in the log), never raise into the worker
                self.errors += 1
                if self.errors == 1:
                    _log("/metrics failed: %s: %s" % (type(e).__name__, e))
                return self._reply(conn, 500, "text/plain", ("metrics failed: %s\n" % e).encode("utf-8", "replace"))
            self.last_seconds = time.perf_counter() - t0
            self.last_cpu_seconds = _thread_time() - c0
            self.scrapes += 1
            return self._reply(conn, 200, CONTENT_TYPE, body, head=method == "HEAD")
        if path == "/":
            return self._reply(conn, 200, "text/plain", b"Worker Lens: metrics at /metrics\n")
        return self._reply(conn, 404, "text/plain", b"not found: try /metrics\n")

    def _reply(self, conn, status, ctype, body, head=False):
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
                  500: "Internal Server Error"}[status]
        headers = ("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                   % (status, reason, ctype, len(body))).encode("latin-1")
        conn.sendall(headers + (b"" if head else body))


def _thread_time():
    try:
        return time.thread_time()
    except Exception:
        return 0.0

