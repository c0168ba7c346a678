"""Thread stacks of another CPython process read from outside: /proc/PID/mem, never stopping it.

For a worker whose agent cannot answer (a C call holding the GIL, a wedged interpreter, no agent):
run with the *target's own interpreter* (`/proc/PID/exe -m workerlens_agent outside-stacks PID`).
This process is then the same binary, so it learns the structure offsets it needs (runtime →
interpreter → thread states → frames → code objects) by finding its own, known values in its own
memory, checks them by reading its own stack the same way, and only then reads the target's memory
at the same offsets (addresses moved by the target's load base). Nothing is written to the target,
it is never ptrace-stopped: reading /proc/PID/mem needs the same permission as ptrace, no more.
CPython 3.11+ (the _PyInterpreterFrame layout); older versions get a clear error.
"""
import ctypes
import os
import struct
import sys
import time

_P = struct.Struct("<Q")
_I = struct.Struct("<i")
MAX_THREADS = 5000
MAX_FRAMES = 300


class OutsideError(Exception):
    def __init__(self, code, message):
        Exception.__init__(self, message)
        self.code = code


class Mem(object):
    def __init__(self, pid):
        self.pid = pid
        try:
            self.fd = os.open("/proc/%d/mem" % pid, os.O_RDONLY)
        except FileNotFoundError:
            raise OutsideError("not-found", "no process with pid %d" % pid)
        except PermissionError as e:
            raise OutsideError("ptrace-denied", "may not read the memory of pid %d (%s): it belongs to another user, "
                               "or kernel.yama.ptrace_scope forbids it" % (pid, e.strerror))

    def read(self, addr, n):
        if addr <= 0 or addr > 0x7fffffffffff:
            raise OSError("bad address 0x%x" % addr)
        b = os.pread(self.fd, n, addr)
        if len(b) != n:
            raise OSError("short read at 0x%x" % addr)
        return b

    def ptr(self, addr):
        return _P.unpack(self.read(addr, 8))[0]

    def close(self):
        os.close(self.fd)


def _ptrs(buf):
    return [_P.unpack_from(buf, i)[0] for i in range(0, len(buf) - 7, 8)]


def _find(buf, value, what):
    for i, v in enumerate(_ptrs(buf)):
        if v == value:
            return i * 8
    raise OutsideError("calibration", "could not find %s in this interpreter's own memory" % what)


def _mapping_of(pid, addr):
    """(path, inode, load base) of the file mapped at addr in pid."""
    with open("/proc/%d/maps" % pid) as f:
        rows = [l.split() for l in f]
    hit = None
    for r in rows:
        lo, hi = (int(x, 16) for x in r[0].split("-"))
        if lo <= addr < hi and len(r) >= 6:
            hit = r
            break
    if hit is None:
        raise OutsideError("calibration", "address 0x%x is in no file mapping" % addr)
    return hit[5], hit[4], _base_of(rows, hit[5], hit[4])


def _base_of(rows, path, inode):
    for r in rows:
        if len(r) >= 6 and r[5] == path and r[4] == inode and int(r[2], 16) == 0:
            return int(r[0].split("-")[0], 16)
    return None


class Layout(object):
    """Offsets learned from this interpreter's own memory."""

    def calibrate(self):
        if sys.version_info < (3, 11):
            raise OutsideError("unsupported-version", "reading stacks from outside needs CPython 3.11 or later; "
                               "this interpreter is %d.%d" % sys.version_info[:2])
        api = ctypes.pythonapi
        for name in ("PyInterpreterState_Main", "PyInterpreterState_ThreadHead", "PyThreadState_Next", "PyThreadState_Get"):
            getattr(api, name).restype = ctypes.c_void_p
        api.PyInterpreterState_ThreadHead.argtypes = [ctypes.c_void_p]
        api.PyThreadState_Next.argtypes = [ctypes.c_void_p]
        self.runtime = ctypes.addressof(ctypes.c_char.in_dll(api, "_PyRuntime"))
        self.code_type = ctypes.addressof(ctypes.c_char.in_dll(api, "PyCode_Type"))
        mem = Mem(os.getpid())
        try:
            self._calibrate(mem, api)
        finally:
            mem.close()
        return self

    def _calibrate(self, mem, api):
        import threading
        interp = api.PyInterpreterState_Main()
        self.rt_interp_head = _find(mem.read(self.runtime, 4096), interp, "the interpreter list in _PyRuntime")
        # a second thread so that head → next is a real link
        ready, done = threading.Event(), threading.Event()
        t = threading.Thread(target=lambda: (ready.set(), done.wait()), daemon=True)
        t.start()
        ready.wait()
        try:
            head = api.PyInterpreterState_ThreadHead(interp)
            nxt = api.PyThreadState_Next(head)
            self.interp_threads_head = _find(mem.read(interp, 8192), head, "the thread list in the interpreter")
            hbuf = mem.read(head, 1024)
            self.ts_next = _find(hbuf, nxt, "PyThreadState.next")
            self.ts_interp = _find(hbuf, interp, "PyThreadState.interp")
        finally:
            done.set()
            t.join()
        self._calibrate_thread(mem, api, threading.get_ident(), threading.get_native_id())
        self._calibrate_code(mem)
        self._calibrate_strings(mem)

    def _calibrate_thread(self, mem, api, ident, native):
        me = sys._getframe()
        caller = sys._getframe(1)
        tstate = api.PyThreadState_Get()
        tbuf = os.pread(mem.fd, 1024, tstate)  # a C call: this function's frame is the current one
        self.ts_thread_id = _find(tbuf, ident, "PyThreadState.thread_id")
        self.ts_native_id = _find(tbuf, native, "PyThreadState.native_thread_id")
        code = me.f_code
        fo_buf = mem.read(id(me), 96)
        found = None
        for i, p in enumerate(_ptrs(fo_buf)):
            if p < 4096 or p == id(code):
                continue
            try:
                fb = mem.read(p, 80)
            except OSError:
                continue
            vals = _ptrs(fb)
            if id(code) in vals and id(me) in vals:
                found = (i * 8, p, vals.index(id(code)) * 8, vals.index(id(me)) * 8)
                break
        if found is None:
            raise OutsideError("calibration", "could not find the interpreter frame of a frame object")
        self.fo_frame, frame, self.fr_code, self.fr_frameobj = found
        caller_frame = mem.ptr(id(caller) + self.fo_frame)
        fvals = _ptrs(mem.read(frame, 80))
        self.fr_previous = fvals.index(caller_frame) * 8
        start = id(code) + type(code).__basicsize__
        end = start + len(code.co_code)
        instr = [i for i, v in enumerate(fvals) if start <= v < end]
        if not instr:
            raise OutsideError("calibration", "could not find the instruction pointer of a frame")
        self.fr_instr = instr[0] * 8
        self.code_start = type(code).__basicsize__
        self.fr_owner = self.fr_instr + (13 if sys.version_info < (3, 12) else 14)
        if mem.read(frame + self.fr_owner, 1) != b"\x00":
            raise OutsideError("calibration", "the frame owner byte is not where this version keeps it")
        self.ts_frame_direct = sys.version_info >= (3, 13)
        if self.ts_frame_direct:
            self.ts_frame = _find(tbuf, frame, "PyThreadState.current_frame")
            self.cf_frame = None
        else:
            sub = 8 if sys.version_info < (3, 12) else 0
            for i, c in enumerate(_ptrs(tbuf)):
                if c < 4096:
                    continue
                try:  # os.pread inline: a Python call here would push a frame and move current_frame
                    got = os.pread(mem.fd, 8, c + sub)
                except OSError:
                    continue
                if len(got) == 8 and _P.unpack(got)[0] == frame:
                    self.ts_frame, self.cf_frame = i * 8, sub
                    break
            else:
                raise OutsideError("calibration", "could not find PyThreadState.cframe")
        self.lasti_is_prev = True  # 3.11/3.12 prev_instr and 3.13 instr_ptr both name the current instruction

    def _calibrate_code(self, mem):
        ns = {}
        exec(compile("\n" * 123456 + "class _WlCal:\n def _wl_m(self):\n  return 1\n", "<wl-calibration>", "exec"), ns)
        code = ns["_WlCal"]._wl_m.__code__
        buf = mem.read(id(code), type(code).__basicsize__)
        self.co_filename = _find(buf, id(code.co_filename), "co_filename")
        self.co_name = _find(buf, id(code.co_name), "co_name")
        self.co_linetable = _find(buf, id(code.co_linetable), "co_linetable")
        target = code.co_firstlineno
        for i in range(0, len(buf) - 3, 4):
            if _I.unpack_from(buf, i)[0] == target:
                self.co_firstlineno = i
                break
        else:
            raise OutsideError("calibration", "could not find co_firstlineno")

    def _calibrate_strings(self, mem):
        self.ascii_data = sys.getsizeof("") - 1
        self.compact_data = sys.getsizeof("\xe9" * 10) - 11  # not one char: those are static singletons
        self.bytes_data = sys.getsizeof(b"") - 1
        for s in ("abc_wl", "\xe9t\xe9_wl", "\u0101_wl", "\U0001F600_wl"):
            if read_str(mem, id(s), self) != s:
                raise OutsideError("calibration", "could not read a str object of this interpreter")


def read_str(mem, addr, L, limit=4096):
    head = mem.read(addr, 40)
    n = _P.unpack_from(head, 16)[0]
    state = head[32]  # the low byte: interned:2 kind:3 compact:1 ascii:1 (the rest is padding, not zeroed)
    kind, compact, ascii_ = (state >> 2) & 7, (state >> 5) & 1, (state >> 6) & 1
    if not compact or kind not in (1, 2, 4) or n > limit:
        return "?"
    data = addr + (L.ascii_data if ascii_ else L.compact_data)
    raw = mem.read(data, n * kind)
    return raw.decode({1: "latin-1", 2: "utf-16-le", 4: "utf-32-le"}[kind])


def read_bytes(mem, addr, L, limit=1 << 20):
    n = _P.unpack_from(mem.read(addr, 24), 16)[0]
    if n > limit:
        raise OSError("bytes object too large")
    return mem.read(addr + L.bytes_data, n)


def line_of(linetable, firstlineno, offset):
    """Line of the code unit at byte `offset`, from a 3.11+ co_linetable (Objects/locations.md)."""
    line = firstlineno
    addr = 0
    i = 0
    n = len(linetable)

    def varint():
        nonlocal i
        shift = val = 0
        while i < n:
            b = linetable[i]
            i += 1
            val |= (b & 63) << shift
            shift += 6
            if not b & 64:
                break
        return val

    def svarint():
        v = varint()
        return -(v >> 1) if v & 1 else v >> 1

    result = None
    while i < n:
        first = linetable[i]
        i += 1
        code = (first >> 3) & 15
        length = (first & 7) + 1
        delta = None
        if code == 15:
            delta = None
        elif code == 14:
            delta = svarint()
            varint()
            varint()
            varint()
        elif code == 13:
            delta = svarint()
        elif code >= 10:
            delta = code - 10
            i += 2
        else:
            delta = 0
            i += 1
        this = None
        if delta is not None:
            line += delta
            this = line
        end = addr + length * 2
        if addr <= offset < end:
            result = this
            break
        addr = end
    return result


def _kernel_state(pid, tid):
    st = sc = None
    try:
        with open("/proc/%d/task/%d/stat" % (pid, tid)) as f:
            st = f.read().rsplit(")", 1)[1].split()[0]
    except Exception:
        pass
    try:
        with open("/proc/%d/task/%d/syscall" % (pid, tid)) as f:
            sc = f.read().split()[0]
    except Exception:
        pass
    return st, sc


_SYSCALLS_X86_64 = {"202": ("waiting", "in futex (a lock, or waiting for the GIL)"),
                    "35": ("sleeping", "in nanosleep"), "230": ("sleeping", "in clock_nanosleep"),
                    "7": ("io", "in poll"), "23": ("io", "in select"), "270": ("io", "in pselect"),
                    "232": ("io", "in epoll_wait"), "281": ("io", "in epoll_pwait"), "0": ("io", "in read"),
                    "45": ("io", "in recvfrom"), "47": ("io", "in recvmsg"), "43": ("io", "in accept"),
                    "288": ("io", "in accept4"), "61": ("waiting", "in wait4"), "1": ("io", "in write"),
                    "44": ("io", "in sendto"), "271": ("io", "in ppoll")}


def _state(kstate, syscall):
    if kstate == "R" or syscall == "running":
        return "running", "on a CPU"
    if syscall and syscall in _SYSCALLS_X86_64 and os.uname().machine == "x86_64":
        return _SYSCALLS_X86_64[syscall]
    if kstate in ("S", "D"):
        return "waiting", "in the kernel (%s)" % ("syscall %s" % syscall if syscall else kstate)
    return "unknown", kstate or ""


def read_stacks(pid, L, max_frames=MAX_FRAMES):
    t0 = time.perf_counter()
    _path, inode, my_base = _mapping_of(os.getpid(), L.runtime)
    mem = Mem(pid)
    try:
        try:
            with open("/proc/%d/maps" % pid) as f:
                rows = [l.split() for l in f]
        except PermissionError as e:
            raise OutsideError("ptrace-denied", "may not read the memory map of pid %d (%s)" % (pid, e.strerror))
        except FileNotFoundError:
            raise OutsideError("not-found", "no process with pid %d" % pid)
        base = _base_of(rows, _path, inode)
        if base is None or my_base is None:
            raise OutsideError("not-same-binary", "pid %d does not run %s (run this with the target's own interpreter)" % (pid, _path))
        shift = base - my_base
        code_type = L.code_type + shift
        interp = mem.ptr(L.runtime + shift + L.rt_interp_head)
        best, notes = None, []
        for _attempt in range(5):  # the thread list changes under us: retry until one walk is consistent
            threads, ok, code_cache = [], True, {}
            try:
                ok = _walk_threads(mem, L, pid, interp, code_type, code_cache, max_frames, threads)
            except OSError:
                ok = False
            if best is None or len(threads) > len(best):
                best = threads
            if ok:
                best = threads
                break
        else:
            notes.append("threads started or exited during every read: the list may be incomplete")
        threads = best or []
    finally:
        mem.close()
    return {"threads": threads, "deadlocks": [], "source": "outside", "pid": pid, "timestamp": time.time(),
            "how": "read from /proc/%d/mem with offsets learned from the same interpreter binary (%s); the process was not stopped" % (pid, _path),
            "pauseMs": 0, "wallMs": round((time.perf_counter() - t0) * 1000, 3), "notes": notes,
            "threadCount": len(threads)}


def _walk_threads(mem, L, pid, interp, code_type, code_cache, max_frames, threads):
    """Appends every thread to `threads`; False when the list changed under us (a freed state)."""
    ts = mem.ptr(interp + L.interp_threads_head)
    seen = set()
    size = max(L.ts_next, L.ts_thread_id, L.ts_native_id, L.ts_frame, L.ts_interp) + 8
    while ts:
        if ts in seen:
            return False  # a loop: the list was relinked while we walked it
        if len(threads) >= MAX_THREADS:
            return True
        seen.add(ts)
        buf = mem.read(ts, size)
        if _P.unpack_from(buf, L.ts_interp)[0] != interp:
            return False  # freed or reused memory: not a thread state of this interpreter any more
        if True:  # one thread
            ident = _P.unpack_from(buf, L.ts_thread_id)[0]
            native = _P.unpack_from(buf, L.ts_native_id)[0]
            frames, note = _frames(mem, L, _P.unpack_from(buf, L.ts_frame)[0], code_type, code_cache, max_frames)
            kstate, syscall = _kernel_state(pid, native)
            state, detail = _state(kstate, syscall)
            t = {"threadId": ident, "nativeId": native, "name": _comm(pid, native), "daemon": False, "isAgent": False,
                 "frames": frames, "framesTruncated": len(frames) >= max_frames, "state": state, "stateDetail": detail,
                 "kernelState": kstate, "syscall": syscall}
            if note:
                t["readNote"] = note
            threads.append(t)
            ts = _P.unpack_from(buf, L.ts_next)[0]
    return True


def _comm(pid, tid):
    try:
        with open("/proc/%d/task/%d/comm" % (pid, tid)) as f:
            return f.read().strip()
    except Exception:
        return "thread %d" % tid


def _frames(mem, L, top, code_type, cache, max_frames):
    frames = []
    f = top
    if f and not L.ts_frame_direct:
        try:
            f = mem.ptr(f + L.cf_frame)
        except OSError:
            return frames, "its frame pointer could not be read"
    seen = set()
    while f and len(frames) < max_frames and f not in seen:
        seen.add(f)
        try:
            fb = mem.read(f, L.fr_owner + 1)
        except OSError:
            return frames, "a frame could not be read (the thread moved on mid-read)"
        owner = fb[L.fr_owner]
        code = _P.unpack_from(fb, L.fr_code)[0]
        prev = _P.unpack_from(fb, L.fr_previous)[0]
        if owner != 3:  # FRAME_OWNED_BY_CSTACK (3.12+): a shim, not Python code
            try:
                info = cache.get(code)
                if info is None:
                    cb = mem.read(code, max(L.co_filename, L.co_name, L.co_linetable, L.co_firstlineno) + 8)
                    if _P.unpack_from(cb, 8)[0] != code_type:
                        f = prev
                        continue
                    info = (read_str(mem, _P.unpack_from(cb, L.co_filename)[0], L),
                            read_str(mem, _P.unpack_from(cb, L.co_name)[0], L),
                            read_bytes(mem, _P.unpack_from(cb, L.co_linetable)[0], L),
                            _I.unpack_from(cb, L.co_firstlineno)[0])
                    cache[code] = info
                instr = _P.unpack_from(fb, L.fr_instr)[0]
                line = line_of(info[2], info[3], instr - (code + L.code_start))
                frames.append({"functionName": info[1], "url": info[0],
                               "lineNumber": max(0, (line or info[3]) - 1)})
            except OSError:
                return frames, "a code object could not be read (the thread moved on mid-read)"
        f = prev
    return frames, None


def self_check(L):
    """Read our own stack the outside way and compare it with what the interpreter says."""
    import threading
    ready, done = threading.Event(), threading.Event()

    def parked_in_self_check():
        ready.set()
        done.wait()

    t = threading.Thread(target=parked_in_self_check, daemon=True)
    t.start()
    ready.wait()
    try:
        r = read_stacks(os.getpid(), L)
    finally:
        done.set()
        t.join()
    for th in r["threads"]:
        if th["threadId"] == t.ident:
            names = [f["functionName"] for f in th["frames"]]
            if "parked_in_self_check" in names:
                line = [f for f in th["frames"] if f["functionName"] == "parked_in_self_check"][0]["lineNumber"] + 1
                if line == parked_in_self_check.__code__.co_firstlineno + 2:
                    return
            raise OutsideError("calibration", "self-check failed: read %r" % names)
    raise OutsideError("calibration", "self-check failed: our own thread was not found")


def main(argv):
    import json
    if not argv or not argv[0].isdigit():
        sys.stderr.write("usage: python -m workerlens_agent outside-stacks PID\n")
        return 2
    pid = int(argv[0])
    try:
        L = Layout().calibrate()
        self_check(L)
        r = read_stacks(pid, L)
        r["pythonVersion"] = "%d.%d.%d" % sys.version_info[:3]
        sys.stdout.write(json.dumps(r) + "\n")
        return 0
    except OutsideError as e:
        sys.stdout.write(json.dumps({"error": {"code": e.code, "message": str(e)}}) + "\n")
        sys.stderr.write("workerlens: %s\n" % e)
        return 1
    except Exception as e:
        sys.stdout.write(json.dumps({"error": {"code": "failed", "message": "%s: %s" % (type(e).__name__, e)}}) + "\n")
        sys.stderr.write("workerlens: outside read failed: %s: %s\n" % (type(e).__name__, e))
        return 1
