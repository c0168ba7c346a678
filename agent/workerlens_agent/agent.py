"""The agent: one per process, a loopback CDP endpoint in daemon threads, plus its discovery file."""
import atexit
import binascii
import gc
import json
import os
import sys
import time

from . import discovery, gcobjects, heapcounts, memorybreakdown, procinfo, sampling, threadstacks
from ._compat import originals
from .cdp import INVALID_PARAMS, CdpError, Session
from .protocol import AGENT_VERSION, descriptor
from .server import Server
from .taskstats import TaskStats


class Agent(object):
    def __init__(self, host="127.0.0.1", port=0, role="process", process_name=None, worker_name=None,
                 pool=None, injected=False):
        self.pid = os.getpid()
        self.token = binascii.hexlify(os.urandom(16)).decode("ascii")
        self.role = role
        self.process_name = process_name or _default_process_name()
        self.worker_name = worker_name
        self.injected = injected
        self.started_at = time.time()
        self.tasks = TaskStats()
        self.tasks.pool = pool
        self._lock = originals().allocate_lock()
        self._sessions = []
        self._thread_idents = set()
        self._protocol_text = json.dumps(descriptor())
        self.snapshot_mode = None
        self.heap_ids = None  # heapgraph.IdMap, made at start() (else on the first snapshot)
        self.discovery_path = None
        self.discovery_error = None
        self.server = Server(self, host, port)
        self.methods = _methods(self)

    @property
    def pool(self):
        return self.tasks.pool

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self):
        heapcounts.warm_up()  # lazy caches filled now, not in the first counts (they would look like growth)
        try:  # the snapshot id table too: made at the first snapshot it showed as the user's growth (IdMap +1)
            from . import heapgraph
            self.heap_ids = heapgraph.IdMap()
        except Exception:
            pass
        self.server.start()
        self.tasks.listeners.append(self._task_event)
        self.write_discovery()
        return self

    def write_discovery(self):
        try:
            self.discovery_path = discovery.write(self.discovery())
            self.discovery_error = None
        except Exception as e:  # without a discovery file we still serve; say so once
            self.discovery_error = str(e)
            _warn("could not write the discovery file: %s" % e)

    def update(self, role=None, process_name=None, worker_name=None, pool=None):
        if role:
            self.role = role
        if process_name:
            self.process_name = process_name
        if worker_name:
            self.worker_name = worker_name
        if pool:
            self.tasks.pool = pool
        if self.discovery_path:
            self.write_discovery()

    def stop(self):
        if os.getpid() != self.pid:
            return
        self.server.stop()
        if self.discovery_path:
            discovery.remove(self.discovery_path)
            self.discovery_path = None

    def abandon_after_fork(self):
        self.server.abandon_after_fork()
        self.discovery_path = None

    # -- threads and sessions ------------------------------------------------------------------
    def register_thread(self):
        self._thread_idents.add(originals().get_ident())

    def unregister_thread(self):
        self._thread_idents.discard(originals().get_ident())

    def agent_threads(self):
        return set(self._thread_idents)

    def new_session(self, connection):
        s = Session(self, connection)
        with self._lock:
            self._sessions.append(s)
        return s

    def session_done(self, session):
        with self._lock:
            if session in self._sessions:
                self._sessions.remove(session)
        self.listening_changed()

    def listening_changed(self):
        """Task events are built only while some session asked for them (Python.enable)."""
        with self._lock:
            self.tasks.emitting = any(s.python_events for s in self._sessions)

    def _task_event(self, event):
        with self._lock:
            targets = [s for s in self._sessions if s.python_events]
        for s in targets:
            s.send_event("Python.taskEvent", event)

    # -- descriptions --------------------------------------------------------------------------
    def ws_url(self):
        host = self.server.host
        if ":" in host:
            host = "[%s]" % host
        return "ws://%s:%d/%s" % (host, self.server.port, self.token)

    def discovery(self):
        return {"pid": self.pid, "ppid": os.getppid(), "host": self.server.host, "port": self.server.port,
                "token": self.token, "role": self.role, "processName": self.process_name,
                "workerName": self.worker_name, "pool": self.pool, "pythonVersion": procinfo.python_version(),
                "executable": sys.executable or "", "agentVersion": AGENT_VERSION,
                "startedAt": self.started_at}

    def target_description(self):
        title = "%s %s (pid %d)" % (self.process_name, self.role, self.pid)
        return {"description": "Worker Lens Python agent", "devtoolsFrontendUrl": "",
                "id": "workerlens-%d" % self.pid, "title": title, "type": "node",
                "url": "file://" + os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else "",
                "webSocketDebuggerUrl": self.ws_url()}

    def version_description(self):
        return {"Browser": "WorkerLens/%s" % AGENT_VERSION, "Protocol-Version": "1.3",
                "User-Agent": "Python/%s" % procinfo.python_version(), "V8-Version": "",
                "WebKit-Version": "", "webSocketDebuggerUrl": self.ws_url()}

    def protocol_text(self):
        return self._protocol_text

    def process_info(self):
        info = self.discovery()
        info.update({"implementation": sys.implementation.name, "argv": [str(a) for a in sys.argv],
                     "rssBytes": procinfo.rss_bytes(), "injected": bool(self.injected),
                     "snapshotMode": self.snapshot_mode})
        for k in ("host", "port", "token"):
            info.pop(k)
        return info


def _default_process_name():
    try:
        mp = sys.modules.get("billiard.process") or sys.modules.get("multiprocessing.process")
        if mp is not None:
            name = mp.current_process().name
            if isinstance(name, str) and name != "MainProcess":
                return name
    except Exception:
        pass
    if sys.argv and sys.argv[0]:
        return os.path.basename(sys.argv[0])
    return "python"


def _warn(text):
    try:
        sys.stderr.write("workerlens: %s\n" % text)
    except Exception:
        pass


def _bool(params, name):
    v = params.get(name, False)
    if not isinstance(v, bool):
        raise CdpError(INVALID_PARAMS, "'%s' must be a boolean" % name)
    return v


def _methods(agent):
    def get_object_counts(_s, p):
        limit = p.get("limit")
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
            raise CdpError(INVALID_PARAMS, "'limit' must be a non-negative integer")
        return heapcounts.object_counts(collect=_bool(p, "collect"), limit=limit,
                                        exact_sizes=_bool(p, "exactSizes"))

    def heap_usage(_s, _p):
        import tracemalloc
        if tracemalloc.is_tracing():
            used = tracemalloc.get_traced_memory()[0]
        else:  # a count made for the Heap view in the last seconds serves: no second pass per refresh
            recent = heapcounts.recent_totals()
            used = recent[1] if recent is not None else heapcounts.object_counts(limit=1)["totalSize"]
        return {"usedSize": used, "totalSize": max(used, procinfo.rss_bytes())}

    def collect_garbage(_s, _p):
        gc.collect()
        return {}

    def take_snapshot(session, p):
        from . import snapshot
        return snapshot.take(agent, session, report_progress=bool(p.get("reportProgress")))

    def memory_breakdown(_s, p):
        return memorybreakdown.breakdown(untracked=_bool(p, "untracked"), per_arena=not _bool(p, "noArenas"))

    def trim_memory(_s, _p):
        return memorybreakdown.trim()

    def enable_python(session, _p):
        session.python_events = True
        agent.listening_changed()
        return {}

    def disable_python(session, _p):
        session.python_events = False
        agent.listening_changed()
        return {}

    noop = lambda _s, _p: {}  # noqa: E731
    return {
        "Runtime.enable": noop, "Runtime.disable": noop, "Runtime.runIfWaitingForDebugger": noop,
        "Runtime.getHeapUsage": heap_usage,
        "HeapProfiler.enable": noop, "HeapProfiler.disable": noop,
        "HeapProfiler.collectGarbage": collect_garbage,
        "HeapProfiler.takeHeapSnapshot": take_snapshot,
        "HeapProfiler.startSampling": lambda _s, p: sampling.start(p),
        "HeapProfiler.stopSampling": lambda _s, _p: sampling.stop(),
        "HeapProfiler.getSamplingProfile": lambda _s, _p: {"profile": sampling.profile()},
        "Python.enable": enable_python, "Python.disable": disable_python,
        "Python.getObjectCounts": get_object_counts,
        "Python.getProcessInfo": lambda _s, _p: agent.process_info(),
        "Python.getThreadStacks": lambda _s, _p: threadstacks.thread_stacks(agent.agent_threads(), agent.tasks),
        "Python.getTaskStats": lambda _s, _p: agent.tasks.result(),
        "Python.getResourceCounts": lambda _s, _p: procinfo.resource_counts(),
        "Python.getMemoryBreakdown": memory_breakdown,
        "Python.trimMemory": trim_memory,
    }


# -- the per-process singleton -----------------------------------------------------------------
_state = {"agent": None, "hooks": False}
_start_lock = originals().allocate_lock()


def current():
    a = _state["agent"]
    # with our at-fork hook installed a forked child has already dropped the inherited agent, so the
    # per-task path needs no getpid() syscall; without it (no os.register_at_fork), compare pids
    if a is not None and not _state["hooks"] and a.pid != os.getpid():
        return None
    return a


def _after_fork_child():
    a = _state["agent"]
    if a is not None and a.pid != os.getpid():
        _state["agent"] = None
        try:
            a.abandon_after_fork()
        except Exception:
            pass


def _fork_marker_before():
    pass


def _fork_marker_parent():
    pass


_hook_lists = []


def fork_hook_lists():
    """The interpreter's three os.register_at_fork lists (found once through our marker functions)."""
    if not _hook_lists and _state["hooks"]:
        wanted = (_fork_marker_before, _fork_marker_parent, _after_fork_child)
        found = []
        for marker in wanted:
            for r in gcobjects.referrers((marker,), keep_types={id(list): True}):  # lists only, made in C
                if type(r) is list and any(x is marker for x in r) and not any(r is f for f in found):
                    found.append(r)
                    break
        if len(found) == 3:
            _hook_lists.extend(found)
    return list(_hook_lists)


def _at_exit():
    a = _state["agent"]
    if a is not None:
        try:
            a.stop()
        except Exception:
            pass


def start(**kwargs):
    """Start this process's agent (idempotent per process: a second call updates and returns it)."""
    with _start_lock:
        _after_fork_child()
        a = _state["agent"]
        if a is not None:
            a.update(**{k: v for k, v in kwargs.items() if k in ("role", "process_name", "worker_name", "pool")})
            return a
        host = kwargs.pop("host", None) or os.environ.get("WORKERLENS_HOST") or "127.0.0.1"
        port = kwargs.pop("port", None)
        if port is None:
            port = int(os.environ.get("WORKERLENS_PORT") or 0)
        a = Agent(host=host, port=port, **kwargs)
        a.start()
        _state["agent"] = a
        if not _state["hooks"]:
            _state["hooks"] = True
            atexit.register(_at_exit)
            if hasattr(os, "register_at_fork"):
                os.register_at_fork(before=_fork_marker_before, after_in_parent=_fork_marker_parent,
                                    after_in_child=_after_fork_child)
        return a


def stop():
    with _start_lock:
        a = _state["agent"]
        _state["agent"] = None
        if a is not None:
            a.stop()
