"""Python.getThreadStacks: every thread's stack, what it waits on, who holds that, and deadlocks.

Never calls user code: thread names come from the Thread objects' instance attributes read with
object.__getattribute__ only when no class along the MRO defines that name (so no property runs);
frame dicts are read only when they are real dicts (or 3.13's frame proxy); the lock a frame holds
is inferred by parsing the function's own source with `ast` (files are read, never imported) and
resolving names through the frame's dicts. Everything the caller gets says how it was obtained.
"""
import ast
import os
import sys
import time
import types
from json import dumps as _json_dumps, loads as _json_loads

from . import ownobjects, safe
from ._compat import originals

_MISSING = object()
_object_getattribute = object.__getattribute__
_dict_get = dict.get
_CO_OPTIMIZED = 0x0001
_MAX_SOURCE = 512 * 1024   # files larger than this are not parsed (time under the GIL)
_MAX_FUNC_LINES = 2000

try:
    import _thread
    _LOCK_T = type(_thread.allocate_lock())
    _RLOCK_C = getattr(_thread, "RLock", None)
except Exception:  # pragma: no cover
    _LOCK_T, _RLOCK_C = None, None


def instance_attr(o, name, default=None):
    """o.name from the instance only; None when a class defines `name` (it could be a descriptor)."""
    try:
        for klass in safe.mro_of(type(o)) or ():
            d = safe.typedict_of(klass)
            if name in d:
                v = d[name]
                if type(v) is not types.MemberDescriptorType:  # __slots__ members are C
                    return default
                break
        return _object_getattribute(o, name)
    except Exception:
        return default


def _type_name(o):
    t = type(o)
    m = safe.module_of(t)
    q = safe.qualname(t)
    return q if m == "builtins" else "%s.%s" % (m, q)


# -- classes we recognise by identity (never by name: a user class may be called "Lock") ---------
def _std_classes():
    """id(class) -> (class, kind). Keyed by id: hashing a user class could run its metaclass __hash__."""
    out = {}

    def add(c, n):
        if isinstance(c, type):
            out[id(c)] = (c, n)
    th = sys.modules.get("threading")
    if th is not None:
        for n in ("Condition", "Event", "Semaphore", "BoundedSemaphore", "Barrier", "Thread", "_RLock"):
            add(th.__dict__.get(n), n)
    q = sys.modules.get("queue")
    if q is not None:
        for n in ("Queue", "LifoQueue", "PriorityQueue"):
            add(q.__dict__.get(n), "Queue")
    if _LOCK_T is not None:
        add(_LOCK_T, "Lock")
    if _RLOCK_C is not None:
        add(_RLOCK_C, "RLock")
    return out


def _kind_of(o, classes):
    """'Lock' | 'RLock' | 'Condition' | ... for stdlib types and their subclasses (by MRO identity)."""
    try:
        for klass in safe.mro_of(type(o)) or ():
            e = classes.get(id(klass))
            if e is not None and e[0] is klass:
                return "RLock" if e[1] == "_RLock" else e[1]
    except Exception:
        pass
    return None


def _rlock_owner(o, classes):
    """Thread ident owning an RLock, or None. C RLock: its own C __repr__ (exact type only)."""
    if _RLOCK_C is not None and type(o) is _RLOCK_C:
        try:
            text = _RLOCK_C.__repr__(o)
        except Exception:
            return None
        i = text.find("owner=")
        if i < 0 or not text.startswith("<locked"):
            return None
        j = i + 6
        k = j
        while k < len(text) and text[k].isdigit():
            k += 1
        return int(text[j:k]) if k > j else None
    owner = instance_attr(o, "_owner")
    return owner if type(owner) is int else None


# -- sources: parsed once per file, analysed once per (function, line) ----------------------------
_HELD = {}  # "file\0firstlineno\0name\0line" -> JSON of the analysis: str -> str, a dict the gc never tracks


class _Sources(object):
    """One per getThreadStacks call. Only the analyses outlive the call, as text in _HELD: source
    lines, AST trees and result lists kept between calls were gc-tracked objects of the worker's heap,
    and the Heap view showed them as growth after the Threads view looked (ast.Name +176, dict +479,
    list +333 on an idle Celery child)."""

    def __init__(self, held=_HELD):
        self._lines = {}     # filename -> [lines] or None
        self._funcs = {}     # (filename, firstlineno, name) -> ast tree of the function (or None)
        self._held = held

    def lines(self, filename):
        entry = self._lines.get(filename, _MISSING)
        if entry is not _MISSING:
            return entry
        if len(self._lines) >= 64:
            self._lines.pop(next(iter(self._lines)))
        lines = None
        try:
            if os.path.getsize(filename) <= _MAX_SOURCE:
                with open(filename, "rb") as f:
                    data = f.read()
                lines = data.decode("utf-8", "replace").splitlines()
        except Exception:
            lines = None
        self._lines[filename] = lines
        return lines

    def func_tree(self, filename, firstlineno, name):
        # Few trees are kept: every AST node is an object in the worker's heap (the Heap view sees them).
        key = (filename, firstlineno, name)
        tree = self._funcs.get(key, _MISSING)
        if tree is not _MISSING:
            return tree
        if len(self._funcs) >= 8:
            self._funcs.pop(next(iter(self._funcs)))
        tree = None
        lines = self.lines(filename)
        if lines:
            try:
                if name == "<module>":
                    tree = ast.parse("\n".join(lines))
                else:  # a lambda/comprehension is parsed as its own statement; a def as its block
                    tree = _parse_block(lines, firstlineno, statement_only=name.startswith("<"))
            except Exception:
                tree = None
        self._funcs[key] = tree
        return tree

    def analyse(self, code, line):
        key = "%s\0%d\0%s\0%d" % (code.co_filename, code.co_firstlineno, code.co_name, line)
        text = self._held.get(key)
        if text is not None:
            held, acquiring, call = _json_loads(text)
            return held, acquiring, tuple(call)
        tree = self.func_tree(code.co_filename, code.co_firstlineno, code.co_name)
        r = _analyse(tree, line) if tree is not None else ([], None, (None, None))
        try:
            text = _json_dumps([r[0], r[1], list(r[2])])
        except Exception:  # not plain strings: analysed again next time
            return r
        if len(self._held) > 2000:
            self._held.clear()
        self._held[key] = text
        return r


def _parse_block(lines, firstlineno, statement_only=False):
    """The def (with its decorators) starting at firstlineno, parsed alone; line numbers kept."""
    start = firstlineno - 1
    if start < 0 or start >= len(lines):
        return None
    first = lines[start]
    indent = len(first) - len(first.lstrip())
    end = start + 1
    seen_def = statement_only or first.lstrip().startswith(("def ", "async def ", "class "))
    while end < len(lines) and end - start < _MAX_FUNC_LINES:
        text = lines[end]
        stripped = text.strip()
        if stripped and not stripped.startswith("#"):
            ind = len(text) - len(text.lstrip())
            if ind <= indent:
                if not seen_def and (stripped.startswith(("def ", "async def ", "class ", "@"))):
                    seen_def = seen_def or not stripped.startswith("@")
                    end += 1
                    continue
                if seen_def and not stripped.startswith((")", "]", "}")):
                    break
        if stripped.startswith(("def ", "async def ")):
            seen_def = True
        end += 1
    block = [l[indent:] if len(l) >= indent and not l[:indent].strip() else l.lstrip() for l in lines[start:end]]
    # Pad with blank lines so the parsed line numbers are the file's.
    return ast.parse("\n" * start + "\n".join(block))


def expr_key(node):
    """'a', 'self.lock', 'LOCKS["x"]' for name/attribute/constant-subscript chains, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = expr_key(node.value)
        return None if base is None else base + "." + node.attr
    if isinstance(node, ast.Subscript):
        base = expr_key(node.value)
        sl = node.slice
        if sl.__class__.__name__ == "Index":  # 3.8
            sl = sl.value
        if base is not None and isinstance(sl, ast.Constant) and type(sl.value) in (str, int):
            return "%s[%r]" % (base, sl.value)
    return None


def _call_target(node):
    """For `x.acquire(...)` → ('x', 'acquire'); `sleep(1)` → (None, 'sleep')."""
    f = node.func
    if isinstance(f, ast.Attribute):
        return expr_key(f.value), f.attr
    if isinstance(f, ast.Name):
        return None, f.id
    return None, None


def _span(node):
    return node.lineno, getattr(node, "end_lineno", node.lineno) or node.lineno


def _innermost_call(node, line):
    """(method, receiver expr) of the innermost call on `line` inside node, or None."""
    best = None
    for n in ast.walk(node):
        if isinstance(n, ast.Call) and n.lineno <= line <= (getattr(n, "end_lineno", n.lineno) or n.lineno):
            best = n  # ast.walk is breadth-first: the last hit is the innermost call
    if best is None:
        return None
    who, meth = _call_target(best)
    return meth, who


def _analyse(tree, line):
    """([exprs held at `line`], expr being acquired at `line` or None, (call, receiver) on `line`).

    A loop, not nested recursive functions: those make reference cycles (garbage in the worker).
    """
    held = []
    acquiring = None
    call = None
    body = tree.body
    if len(body) == 1 and isinstance(body[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
        body = body[0].body
    stmts = body
    while stmts is not None:
        descend = None
        acquired = []
        for st in stmts:
            lo, hi = _span(st)
            if hi < line:
                # statements already run: acquire()/release() pairs in order
                for n in ast.walk(st):
                    if isinstance(n, ast.Call):
                        who, meth = _call_target(n)
                        if who and meth == "acquire":
                            acquired.append(who)
                        elif who and meth == "release" and who in acquired:
                            acquired.remove(who)
                    if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                        break
                continue
            if lo > line:
                break
            held.extend(acquired)
            acquired = []
            if isinstance(st, (ast.With, getattr(ast, "AsyncWith", ast.With))):
                body_lo = st.body[0].lineno if st.body else hi + 1
                if line < body_lo:  # on the header: entering the items in order
                    for item in st.items:
                        k = expr_key(item.context_expr)
                        ilo, ihi = _span(item.context_expr)
                        if ilo <= line <= ihi or acquiring is None:
                            acquiring = k
                        if ilo <= line <= ihi:
                            break
                    call = _innermost_call(st.items[0].context_expr if st.items else st, line) or call
                    break
                for item in st.items:
                    k = expr_key(item.context_expr)
                    if k:
                        held.append(k)
                descend = st.body
                break
            for field in ("body", "orelse", "finalbody", "handlers"):
                sub = getattr(st, field, None)
                if not sub or not isinstance(sub, list):
                    continue
                if field == "handlers":
                    for h in sub:
                        hlo, hhi = _span(h)
                        if hlo <= line <= hhi:
                            descend = h.body
                            break
                    if descend is not None:
                        break
                    continue
                slo, shi = sub[0].lineno, _span(sub[-1])[1]
                if slo <= line <= shi:
                    descend = sub
                    break
            if descend is None:
                c = _innermost_call(st, line)
                if c is not None:
                    call = c
                    if c[0] == "acquire" and c[1]:
                        acquiring = c[1]
            break
        stmts = descend
    return held, acquiring, call or (None, None)


# -- resolving an expression through a frame's dicts, without user code -----------------------------
def _frame_dicts(frame, with_globals=True):
    out = []
    try:
        code = frame.f_code
        loc = frame.f_locals
        ownobjects.note(frame, loc)  # <= 3.12: that read attached a dict to the frame; counts leave it out
        t = type(loc)
        if t is dict or (t.__name__ == "FrameLocalsProxy" and code.co_flags & _CO_OPTIMIZED):
            out.append(loc)
        g = frame.f_globals
        if with_globals and type(g) is dict:
            out.append(g)
    except Exception:
        pass
    return out


def resolve(frame, key, dicts=None):
    if not key:
        return _MISSING
    parts = _split_key(key)
    if parts is None:
        return _MISSING
    dicts = dicts if dicts is not None else _frame_dicts(frame)
    obj = _MISSING
    for d in dicts:
        try:
            if type(d) is dict:
                v = _dict_get(d, parts[0], _MISSING)
            else:
                v = d[parts[0]] if parts[0] in d else _MISSING
        except Exception:
            v = _MISSING
        if v is not _MISSING:
            obj = v
            break
    for kind, name in parts[1:]:
        if obj is _MISSING:
            break
        if kind == ".":
            if type(obj) is types.ModuleType:
                md = instance_attr(obj, "__dict__")
                obj = _dict_get(md, name, _MISSING) if type(md) is dict else _MISSING
            else:
                obj = instance_attr(obj, name, _MISSING)
        else:
            obj = _dict_get(obj, name, _MISSING) if type(obj) is dict else (
                obj[name] if type(obj) in (list, tuple) and type(name) is int and -len(obj) <= name < len(obj) else _MISSING)
    return obj


def _split_key(key):
    parts = []
    i = 0
    n = len(key)
    name = ""
    while i < n and (key[i].isalnum() or key[i] == "_"):
        name += key[i]
        i += 1
    if not name:
        return None
    parts.append(name)
    while i < n:
        if key[i] == ".":
            j = i + 1
            while j < n and (key[j].isalnum() or key[j] == "_"):
                j += 1
            parts.append((".", key[i + 1:j]))
            i = j
        elif key[i] == "[":
            j = key.index("]", i)
            try:
                parts.append(("[", ast.literal_eval(key[i + 1:j])))
            except Exception:
                return None
            i = j + 1
        else:
            return None
    return parts


# -- what a thread does, from its frames -------------------------------------------------------------
_IO_CALLS = frozenset(("recv", "recv_into", "recvfrom", "recvmsg", "accept", "read", "readline", "readinto",
                       "select", "poll", "epoll", "connect", "send", "sendall", "sendto", "getaddrinfo",
                       "waitpid", "urlopen", "request", "getresponse", "_recv", "_recv_bytes", "recv_bytes",
                       "communicate", "readlines", "write", "flush", "fsync"))
_IO_FILES = ("socket.py", "selectors.py", "ssl.py", "subprocess.py", "client.py", "connection.py", "poll.py")
_IDLE_MARKERS = (("billiard", "pool.py"), ("kombu", "hub.py"), ("celery", "worker"), ("concurrent", "thread.py"),
                 ("celery", "concurrency"), ("multiprocessing", "pool.py"), ("kombu", "asynchronous"))
# stdlib API frames whose `self` is the object waited on (outermost wins)
_WAIT_APIS = {("threading.py", "wait"): None, ("threading.py", "wait_for"): None,
              ("threading.py", "acquire"): None, ("threading.py", "join"): "Thread",
              ("threading.py", "_wait_for_tstate_lock"): "Thread", ("threading.py", "__enter__"): None,
              ("queue.py", "get"): "Queue", ("queue.py", "put"): "Queue", ("queue.py", "join"): "Queue"}


def _base(path):
    i = path.rfind("/")
    return path[i + 1:] if i >= 0 else path


def describe_object(o, classes):
    d = {"id": id(o), "type": _type_name(o), "kind": _kind_of(o, classes) or "object"}
    try:
        import tracemalloc
        if tracemalloc.is_tracing():
            tb = tracemalloc.get_object_traceback(o)
            if tb is not None and len(tb):
                fr = tb[-1] if hasattr(tb, "__getitem__") else None
                if fr is not None:
                    d["createdAt"] = {"url": fr.filename, "lineNumber": max(0, fr.lineno - 1), "how": "tracemalloc"}
    except Exception:
        pass
    return d


class _Capture(object):
    def __init__(self, agent_idents, sources, tasks_by_thread, max_frames):
        self.agent_idents = agent_idents
        self.sources = sources
        self.tasks = tasks_by_thread
        self.max_frames = max_frames
        self.classes = _std_classes()
        self.objects = {}       # id -> object (kept alive while we compute)
        self.held_by = {}       # id(lock) -> [thread ident] (inferred from source)

    def thread_meta(self):
        out = {}
        th = sys.modules.get("threading")
        active = getattr(th, "_active", None) if th is not None else None
        if type(active) is not dict:
            return out
        try:
            items = list(active.items())  # dict of int -> Thread: C only
        except Exception:
            return out
        main_ident = getattr(th, "_main_thread", None)
        main_ident = instance_attr(main_ident, "_ident") if main_ident is not None else None
        for ident, t in items:
            name = instance_attr(t, "_name")
            daemon = instance_attr(t, "_daemonic")
            native = instance_attr(t, "_native_id")
            if type(native) is int and not os.path.exists("/proc/self/task/%d" % native):
                # 3.11 keeps the parent's id in a forked child's main thread; there it is our pid
                native = os.getpid() if ident == main_ident else None
            out[ident] = {"name": name if type(name) is str else None, "daemon": daemon if type(daemon) is bool else False,
                          "nativeId": native if type(native) is int else None}
        return out

    def frames_of(self, frame):
        frames = []
        raw = []
        f = frame
        while f is not None and len(frames) < self.max_frames:
            try:
                code = f.f_code
                line = f.f_lineno or code.co_firstlineno
                frames.append({"functionName": code.co_name, "url": code.co_filename, "lineNumber": max(0, line - 1)})
                raw.append((f, code, line))
                f = f.f_back
            except Exception:
                break
        truncated = f is not None
        return frames, raw, truncated

    def holds(self, ident, raw):
        held = []
        for f, code, line in raw:
            if code.co_filename.endswith(("threading.py", "queue.py")) or "workerlens_agent" in code.co_filename:
                continue
            try:
                exprs, _acq, _call = self.sources.analyse(code, line)
            except Exception:
                continue
            if not exprs:
                continue
            dicts = _frame_dicts(f)
            for e in exprs:
                o = resolve(f, e, dicts)
                if o is _MISSING:
                    continue
                kind = _kind_of(o, self.classes)
                if kind == "Condition":
                    inner = instance_attr(o, "_lock")
                    if inner is not None:
                        o, kind = inner, _kind_of(inner, self.classes)
                if kind not in ("Lock", "RLock", "Semaphore", "BoundedSemaphore"):
                    continue
                self.objects[id(o)] = o
                self.held_by.setdefault(id(o), [])
                if ident not in self.held_by[id(o)]:
                    self.held_by[id(o)].append(ident)
                held.append({"object": describe_object(o, self.classes), "expression": e,
                             "url": code.co_filename, "lineNumber": max(0, line - 1),
                             "how": "source: `with`/acquire() enclosing this line, names resolved in the frame"})
        return held

    def waits(self, raw):
        """(state, detail, wait dict or None) from the innermost frames."""
        if not raw:
            return "unknown", "no Python frame", None
        # outermost stdlib wait API at the top of the stack (Queue.get → Condition.wait → lock)
        api = None
        api_index = -1
        for i, (f, code, line) in enumerate(raw):
            b = _base(code.co_filename)
            if (b, code.co_name) in _WAIT_APIS and code.co_filename.endswith(("/threading.py", "/queue.py")):
                api = (f, code, line, b)
                api_index = i
                continue
            break
        if api is not None:
            f, code, line, b = api
            self_obj = resolve(f, "self", _frame_dicts(f, with_globals=False))
            self_obj = None if self_obj is _MISSING else self_obj
            user = raw[api_index + 1] if api_index + 1 < len(raw) else None
            at = ({"url": user[1].co_filename, "lineNumber": max(0, user[2] - 1), "functionName": user[1].co_name}
                  if user else None)
            if self_obj is None:
                return "waiting", "in threading.%s" % code.co_name, None
            kind = _kind_of(self_obj, self.classes) or "object"
            self.objects[id(self_obj)] = self_obj
            w = {"object": describe_object(self_obj, self.classes), "call": code.co_name, "at": at,
                 "how": "the `self` of %s.%s in %s" % (kind, code.co_name, b)}
            if kind == "Thread":
                target = instance_attr(self_obj, "_ident")
                if type(target) is int:
                    w["holderThreadIds"] = [target]
                    w["holderHow"] = "the joined thread"
                return "waiting", "joining a thread", w
            if code.co_name == "__enter__" and kind == "Condition":
                inner = instance_attr(self_obj, "_lock")
                if inner is not None:
                    return self._lock_wait(inner, "__enter__", at, "the lock of a Condition entered by `with`")
            if kind == "RLock" and code.co_name in ("acquire", "__enter__"):
                return self._lock_wait(self_obj, code.co_name, at, "threading._RLock.acquire")
            if kind in ("Semaphore", "BoundedSemaphore") and code.co_name == "acquire":
                return "waiting", "on a semaphore", w
            what = {"Queue": "on a queue (%s)" % code.co_name, "Event": "on an event", "Condition": "on a condition",
                    "Barrier": "on a barrier"}.get(kind, "in %s.%s" % (kind, code.co_name))
            return "waiting", what, w
        f, code, line = raw[0]
        try:
            _held, acquiring, call = self.sources.analyse(code, line)
        except Exception:
            acquiring, call = None, (None, None)
        meth, target = call
        if acquiring:
            o = resolve(f, acquiring)
            if o is not _MISSING and _kind_of(o, self.classes) in ("Lock", "RLock", "Condition", "Semaphore", "BoundedSemaphore"):
                if _kind_of(o, self.classes) == "Condition":
                    inner = instance_attr(o, "_lock")
                    o = inner if inner is not None else o
                at = {"url": code.co_filename, "lineNumber": max(0, line - 1), "functionName": code.co_name}
                r = self._lock_wait(o, "acquire", at, "source: `%s` acquired on this line" % acquiring)
                r[2]["expression"] = acquiring
                return r
        if meth in ("wait", "get", "join", "put", "wait_for") and target:
            o = resolve(f, target)
            if o is not _MISSING and _kind_of(o, self.classes):
                self.objects[id(o)] = o
                kind = _kind_of(o, self.classes)
                return "waiting", "on %s.%s" % (kind, meth), {
                    "object": describe_object(o, self.classes), "call": meth, "expression": target,
                    "at": {"url": code.co_filename, "lineNumber": max(0, line - 1), "functionName": code.co_name},
                    "how": "source: `%s.%s()` on this line" % (target, meth)}
        if meth == "sleep":
            return "sleeping", "in sleep()", None
        b = _base(code.co_filename)
        if meth in _IO_CALLS or b in _IO_FILES:
            return "io", "in %s" % (meth or code.co_name), None
        return "running", "", None

    def _lock_wait(self, o, call, at, how):
        self.objects[id(o)] = o
        kind = _kind_of(o, self.classes)
        w = {"object": describe_object(o, self.classes), "call": call, "at": at, "how": how}
        if kind == "RLock":
            owner = _rlock_owner(o, self.classes)
            if owner is not None:
                w["holderThreadIds"] = [owner]
                w["holderHow"] = "the RLock's owner"
        return "waiting", "on %s" % ("an RLock" if kind == "RLock" else "a lock"), w


def _idle(raw, task):
    if task is not None:
        return False
    for _f, code, _l in raw:
        fn = code.co_filename
        for a, b in _IDLE_MARKERS:
            if a in fn and b in fn:
                return True
    return False


def thread_stacks(agent_idents, tasks=None, max_frames=200, max_threads=5000):
    """The whole Python.getThreadStacks result (see ThreadStack in src/protocol/agent.ts)."""
    t0 = time.perf_counter()
    c0 = time.thread_time() if hasattr(time, "thread_time") else None
    running_tasks = {}
    if tasks is not None:
        try:
            running_tasks = tasks.running_by_thread()
        except Exception:
            running_tasks = {}
    cap = _Capture(agent_idents, _Sources(), running_tasks, max_frames)
    current = sys._current_frames()
    meta = cap.thread_meta()
    me = originals().get_ident()
    now = time.time()
    out = []
    raws = {}
    frame = None
    for n, (ident, frame) in enumerate(current.items()):
        if n >= max_threads:
            break
        frames, raw, truncated = cap.frames_of(frame)
        # our own thread's frames include this call's: keeping them would make a reference cycle
        raws[ident] = raw if ident != me else []
        m = meta.get(ident, {})
        is_agent = ident in agent_idents or ident == me
        t = {"threadId": ident, "name": m.get("name") or ("Worker Lens agent" if is_agent else "thread-%d" % ident), "daemon": bool(m.get("daemon")),
             "nativeId": m.get("nativeId"), "isAgent": is_agent,
             "frames": frames, "framesTruncated": truncated}
        task = running_tasks.get(ident)
        if task is not None:
            task = dict(task)
            task["runningSeconds"] = round(max(0.0, now - task["startedAt"]), 3)
            soft, hard = task.get("softTimeLimit"), task.get("timeLimit")
            task["pastSoftLimit"] = bool(soft) and task["runningSeconds"] > soft
            task["pastHardLimit"] = bool(hard) and task["runningSeconds"] > hard
            t["task"] = task
        out.append(t)
    del current
    for t in out:
        raw = raws[t["threadId"]]
        if t["isAgent"]:
            t["state"], t["stateDetail"] = "agent", "Worker Lens"
            continue
        try:
            t["holds"] = cap.holds(t["threadId"], raw)
            state, detail, wait = cap.waits(raw)
        except Exception as e:  # one odd thread must not cost the others their stacks
            state, detail, wait = "unknown", "could not analyse: %s" % type(e).__name__, None
        if state in ("io", "waiting") and _idle(raw, t.get("task")):
            detail = "idle (%s)" % (detail or state)
            state = "idle"
        t["state"], t["stateDetail"] = state, detail
        if wait is not None:
            t["waitsOn"] = wait
    for t in out:  # a plain Lock records no owner: the holder is whoever's source says it holds it
        w = t.get("waitsOn")
        if w and "holderThreadIds" not in w:
            holders = [h for h in cap.held_by.get(w["object"]["id"], []) if h != t["threadId"]]
            if holders:
                w["holderThreadIds"] = holders
                w["holderHow"] = "inferred from the holders' source (`with`/acquire() enclosing their current line)"
    deadlocks = find_cycles(out)
    out.sort(key=lambda t: (t["isAgent"], t["threadId"]))
    cap.objects.clear()
    raws.clear()
    del frame
    elapsed = (time.perf_counter() - t0) * 1000
    cpu = (time.thread_time() - c0) * 1000 if c0 is not None else elapsed
    return {"threads": out, "deadlocks": deadlocks, "source": "agent", "pauseMs": round(cpu, 3),
            "wallMs": round(elapsed, 3), "timestamp": now, "pid": os.getpid(),
            "threadCount": len(out)}


def find_cycles(threads):
    """Waits-for cycles: thread → holder of what it waits on. Each cycle reported once."""
    edges = {}
    by_id = {t["threadId"]: t for t in threads}
    for t in threads:
        w = t.get("waitsOn")
        if w and w.get("holderThreadIds"):
            edges[t["threadId"]] = [h for h in w["holderThreadIds"] if h in by_id]
    cycles = []
    seen = set()
    for start in edges:
        path = [start]
        pos = {start: 0}
        cur = start
        while True:
            nxt = edges.get(cur)
            if not nxt:
                break
            cur = nxt[0]
            if cur in pos:
                cyc = path[pos[cur]:]
                key = frozenset(cyc)
                if key not in seen:
                    seen.add(key)
                    lo = cyc.index(min(cyc))
                    cyc = cyc[lo:] + cyc[:lo]
                    cycles.append({"threadIds": cyc, "objects": [by_id[i]["waitsOn"]["object"] for i in cyc],
                                   "how": "waits-for cycle: each thread waits on an object the next one holds"})
                break
            if cur in seen or len(path) > len(edges):
                break
            pos[cur] = len(path)
            path.append(cur)
    return cycles
