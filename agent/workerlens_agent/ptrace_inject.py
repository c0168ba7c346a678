"""Queue Python code in another CPython process with ptrace, stopping ONE thread briefly (x86-64 Linux).

Why not gdb: gdb 13 cannot restore the registers of a thread on CPUs with AMX state ("Couldn't write
extended state status"); the interrupted syscall then returns ERESTARTNOHAND to Python and the
worker dies. And any debugger that runs PyGILState_Ensure on a thread it interrupted can hang the
worker: a thread waiting for the GIL sits inside a condvar wait, and re-entering it corrupts the
condvar's bookkeeping (issue 11). So this module:
  - stops one thread only (PTRACE_SEIZE + PTRACE_INTERRUPT); the others keep running;
  - saves its general registers and its whole XSAVE area, restores both byte for byte;
  - calls only functions that cannot block on a lock: mmap/mprotect, and either
      "thread":  on a thread stopped in a clean blocking syscall (read of a socket/pipe, poll, epoll,
                 select, sleep, accept, wait...: not inside malloc) or waiting for the GIL (a futex
                 in _PyRuntime: it holds no lock pthread_create needs; the condvar is not touched),
                 pthread_create() of a NEW native thread whose trampoline runs PyGILState_Ensure /
                 PyRun_SimpleString / PyGILState_Release. The new thread waits for the GIL like any
                 other thread; the interrupted one never touches it.
      "pending": otherwise Py_AddPendingCall(PyRun_SimpleString, code) (takes no GIL, mallocs
                 nothing: the code lives in our mmap) from a thread stopped in a syscall, so not
                 inside the pending-call lock's short critical section; the main thread runs it at
                 its next eval-breaker check;
  - a call returns to address 0; the SIGSEGV that follows is caught and discarded, the registers
    restored, the interrupted syscall restarts as if nothing had happened.
One page per injection stays mapped in the target (4-8 KB; the boot code may still be pending).
"""
import ctypes
import errno
import os
import platform
import struct
import time

PTRACE_CONT, PTRACE_DETACH = 7, 17
PTRACE_GETREGS, PTRACE_SETREGS = 12, 13
PTRACE_GETREGSET, PTRACE_SETREGSET = 0x4204, 0x4205
PTRACE_SEIZE, PTRACE_INTERRUPT = 0x4206, 0x4207
PTRACE_EVENT_STOP = 128
NT_X86_XSTATE = 0x202
WALL = 0x40000000
SIGSEGV, SIGTRAP, SIGSTOP = 11, 5, 19

# x86-64 syscalls entered from a clean point (Python released the GIL around them; no libc lock is
# held across them): read, readv, poll, select, pause, nanosleep, accept, recvfrom, recvmsg, wait4,
# rt_sigtimedwait, rt_sigsuspend, clock_nanosleep, epoll_wait, waitid, pselect6, ppoll, epoll_pwait,
# accept4, epoll_pwait2
CLEAN_SYSCALLS = {0, 19, 7, 23, 34, 35, 43, 45, 47, 61, 128, 130, 230, 232, 247, 270, 271, 281, 288, 441}
FUTEX = 202
READ_LIKE = {0, 19, 45, 47}  # the fd must be a socket/pipe/tty: a file read may come from inside dlopen


class PtraceError(Exception):
    def __init__(self, code, message):
        Exception.__init__(self, message)
        self.code = code
        self.message = message


class Regs(ctypes.Structure):
    _fields_ = [(n, ctypes.c_ulonglong) for n in (
        "r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs eflags rsp ss "
        "fs_base gs_base ds es fs gs").split()]


class IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


_libc = None


def _ptrace(req, tid, addr=0, data=0):
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.ptrace.restype = ctypes.c_long
        _libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    r = _libc.ptrace(req, tid, addr, data)
    if r == -1:
        e = ctypes.get_errno()
        if e:
            raise OSError(e, os.strerror(e))
    return r


def supported():
    return platform.machine() in ("x86_64", "amd64") and os.path.exists("/proc/self/task")


# -- symbols of the target, from the ELF files it mapped -------------------------------------------
def _dynsyms(path):
    """{name: (value, size)} of the defined dynamic symbols (default versions win)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        return {}, 0
    e_type = struct.unpack_from("<H", data, 16)[0]
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    dyn = [s for s in sections if s[1] == 11]
    if not dyn:
        return {}, e_type
    _n, _t, _f, _a, off, size, link, _i, _al, entsize = dyn[0]
    stroff = sections[link][4]
    versym = [s for s in sections if s[1] == 0x6fffffff]
    out = {}
    for i in range(size // entsize):
        name_off, info, _other, shndx, value, sz = struct.unpack_from("<IBBHQQ", data, off + i * entsize)
        if shndx == 0 or not value:
            continue
        end = data.index(b"\0", stroff + name_off)
        name = data[stroff + name_off:end].decode("latin-1")
        hidden = bool(versym and struct.unpack_from("<H", data, versym[0][4] + 2 * i)[0] & 0x8000)
        if name not in out or not hidden:
            out[name] = (value, sz)
    return out, e_type


def _mappings(pid):
    """[(start, end, offset, path)] of file mappings."""
    out = []
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) < 6 or not parts[5].startswith("/"):
                continue
            start, end = (int(x, 16) for x in parts[0].split("-"))
            out.append((start, end, int(parts[2], 16), parts[5].rstrip("\n").replace(" (deleted)", "")))
    return out


class Symbols(object):
    def __init__(self, pid):
        self.pid = pid
        self.maps = _mappings(pid)
        self.addr = {}
        self.ranges = []  # (start, end, name) of the functions we must not interrupt
        exe = os.readlink("/proc/%d/exe" % pid).replace(" (deleted)", "")
        paths = []
        for _s, _e, _o, p in self.maps:
            if p not in paths:
                paths.append(p)
        libpython = [p for p in paths if "/libpython3" in p]
        libc = [p for p in paths if os.path.basename(p).startswith(("libc.so", "libc-"))]
        pthread = [p for p in paths if os.path.basename(p).startswith("libpthread")]
        self.python_file = libpython[0] if libpython else exe
        self._load(self.python_file, ("PyGILState_Ensure", "PyGILState_Release", "PyRun_SimpleString",
                                      "Py_AddPendingCall"))
        for lib in libc + pthread:
            self._load(lib, ("mmap", "mprotect", "pthread_create", "pthread_detach"))
        missing = [n for n in ("PyGILState_Ensure", "PyGILState_Release", "PyRun_SimpleString", "Py_AddPendingCall",
                               "mmap", "mprotect", "pthread_create", "pthread_detach") if n not in self.addr]
        if missing:
            raise PtraceError("not-python", "process %d lacks the symbols %s" % (pid, ", ".join(missing)))

    def _base(self, path, e_type):
        if e_type == 2:  # ET_EXEC: absolute addresses
            return 0
        starts = [s for s, _e, o, p in self.maps if p == path and o == 0]
        if not starts:
            raise PtraceError("failed", "cannot find where %s is mapped" % path)
        return min(starts)

    def _load(self, path, names):
        try:
            syms, e_type = _dynsyms("/proc/%d/root%s" % (self.pid, path))
        except OSError:
            syms, e_type = _dynsyms(path)
        base = self._base(path, e_type) if syms else 0
        for n in names:
            if n in syms and n not in self.addr:
                self.addr[n] = base + syms[n][0]
        for n, (v, sz) in syms.items():
            if n.startswith(("PyThread_acquire_lock", "PyThread_release_lock", "_PyEval_AddPendingCall",
                             "Py_AddPendingCall", "Py_MakePendingCalls")):
                self.ranges.append((base + v, base + v + max(sz, 1), n))

    def in_python_data(self, addr):
        """addr lies in the interpreter's own static data (where _PyRuntime and its GIL live), or
        in the anonymous .bss mapping right after it."""
        spans = [(st, e) for st, e, _o, p in self.maps if p == self.python_file]
        if not spans:
            return False
        lo, hi = min(st for st, _e in spans), max(e for _s, e in spans)
        if lo <= addr < hi:
            return True
        try:
            with open("/proc/%d/maps" % self.pid) as f:
                for line in f:
                    parts = line.split()
                    start, end = (int(x, 16) for x in parts[0].split("-"))
                    if start == hi and len(parts) < 6:
                        return start <= addr < end
        except OSError:
            pass
        return False

    def in_python_code(self, pc):
        """pc is inside the interpreter's own code and outside the pending-call lock functions."""
        if any(s <= pc < e for s, e, _n in self.ranges):
            return False
        return any(s <= pc < e and p == self.python_file for s, e, _o, p in self.maps)


# -- one stopped thread -----------------------------------------------------------------------------
def syscall_of(pid, tid):
    """(number, first argument) of the syscall tid sits in; (-1, 0) when running in user space."""
    try:
        with open("/proc/%d/task/%d/syscall" % (pid, tid)) as f:
            parts = f.read().split()
        if parts[0] == "running":
            return -1, 0
        return int(parts[0]), int(parts[1], 16) if len(parts) > 1 else 0
    except (OSError, ValueError, IndexError):
        return None, 0


def clean_syscall(pid, nr, arg0):
    if nr not in CLEAN_SYSCALLS:
        return False
    if nr in READ_LIKE:
        try:
            target = os.readlink("/proc/%d/fd/%d" % (pid, arg0))
        except OSError:
            return False
        return target.startswith(("socket:", "pipe:", "anon_inode:", "/dev/pts/", "/dev/tty"))
    return True


class Stopped(object):
    """A seized and interrupted thread. `with Stopped(pid, tid) as t:` ... always detached after."""

    def __init__(self, pid, tid):
        self.pid, self.tid = pid, tid
        self.saved = Regs()
        self.xstate = None
        self.deferred = []  # signals that arrived while we held the thread: re-delivered at detach
        self.mem = None
        self.in_call = False

    def __enter__(self):
        try:
            _ptrace(PTRACE_SEIZE, self.tid)
        except OSError as e:
            if e.errno == errno.EPERM:
                raise PtraceError("ptrace-denied", "ptrace is not permitted on process %d" % self.pid)
            if e.errno == errno.ESRCH:
                raise PtraceError("not-found", "thread %d of process %d is gone" % (self.tid, self.pid))
            raise PtraceError("failed", "ptrace(SEIZE) failed: %s" % e)
        try:
            _ptrace(PTRACE_INTERRUPT, self.tid)
            self._wait_stop(expect_event=True)
            _ptrace(PTRACE_GETREGS, self.tid, 0, ctypes.addressof(self.saved))
            self._save_xstate()
        except BaseException:
            self._detach()
            raise
        return self

    def __exit__(self, *_a):
        self._detach()

    def _wait_stop(self, expect_event=False):
        while True:
            _pid, status = os.waitpid(self.tid, WALL)
            if os.WIFEXITED(status) or os.WIFSIGNALED(status):
                raise PtraceError("not-found", "process %d exited" % self.pid)
            if not os.WIFSTOPPED(status):
                continue
            sig = os.WSTOPSIG(status)
            if status >> 16 == PTRACE_EVENT_STOP:
                if expect_event:
                    return None
                _ptrace(PTRACE_CONT, self.tid)  # a group-stop while we run a call: keep going
                continue
            if expect_event:
                # a signal reached the thread before our interrupt: hold it, deliver it at detach
                self.deferred.append(sig)
                _ptrace(PTRACE_CONT, self.tid)
                continue
            return sig

    def _save_xstate(self):
        buf = ctypes.create_string_buffer(64 * 1024)
        iov = IoVec(ctypes.cast(buf, ctypes.c_void_p), len(buf))
        _ptrace(PTRACE_GETREGSET, self.tid, NT_X86_XSTATE, ctypes.addressof(iov))
        self.xstate = (buf, iov.len)

    def _restore(self):
        regs = Regs()
        ctypes.pointer(regs)[0] = self.saved
        _ptrace(PTRACE_SETREGS, self.tid, 0, ctypes.addressof(regs))
        if self.xstate is not None:
            buf, n = self.xstate
            iov = IoVec(ctypes.cast(buf, ctypes.c_void_p), n)
            _ptrace(PTRACE_SETREGSET, self.tid, NT_X86_XSTATE, ctypes.addressof(iov))

    def _detach(self):
        if self.in_call:
            # never reached: call() returns only once the function has returned. Detaching here
            # would let the thread return into address 0 and kill the worker.
            raise RuntimeError("refusing to detach inside a call")
        sig = self.deferred[0] if self.deferred else 0
        try:
            _ptrace(PTRACE_DETACH, self.tid, 0, sig)
        except OSError:
            pass
        for extra in self.deferred[1:]:
            try:
                os.kill(self.pid, extra)  # rare: more than one signal arrived; re-send the rest
            except OSError:
                pass

    @property
    def pc(self):
        return self.saved.rip

    def syscall(self):
        """The syscall the thread was interrupted in, or -1 (user space): read from its registers."""
        orig = self.saved.orig_rax
        return -1 if orig >= 1 << 63 else int(orig)

    def write(self, addr, data):
        with open("/proc/%d/task/%d/mem" % (self.pid, self.tid), "r+b", buffering=0) as f:
            f.seek(addr)
            f.write(data)

    def read(self, addr, n):
        with open("/proc/%d/task/%d/mem" % (self.pid, self.tid), "rb", buffering=0) as f:
            f.seek(addr)
            return f.read(n)

    def call(self, func, *args):
        """func(*args) on this thread; returns rax. Blocks until the function returns."""
        regs = Regs()
        ctypes.pointer(regs)[0] = self.saved
        for name, value in zip(("rdi", "rsi", "rdx", "rcx", "r8", "r9"), args):
            setattr(regs, name, value & ((1 << 64) - 1))
        sp = ((self.saved.rsp - 4096) & ~0xF) - 8  # below the red zone; rsp+8 16-aligned at entry
        self.write(sp, struct.pack("<Q", 0))  # return address 0: the SIGSEGV on return ends the call
        regs.rsp = sp
        regs.rip = func
        regs.rax = 0
        regs.orig_rax = (1 << 64) - 1  # no syscall restart logic for our entry
        _ptrace(PTRACE_SETREGS, self.tid, 0, ctypes.addressof(regs))
        self.in_call = True
        _ptrace(PTRACE_CONT, self.tid)
        while True:
            sig = self._wait_stop()
            got = Regs()
            _ptrace(PTRACE_GETREGS, self.tid, 0, ctypes.addressof(got))
            if sig == SIGSEGV and got.rip == 0:
                break
            if sig in (SIGSEGV, SIGTRAP) or sig is None:
                self._restore()  # the function itself faulted: put the thread back and stop here
                self.in_call = False
                raise PtraceError("failed", "a call in the target faulted (signal %s)" % sig)
            self.deferred.append(sig)  # a signal for the worker: deliver it after we are done
            _ptrace(PTRACE_CONT, self.tid)
        self._restore()
        self.in_call = False
        return got.rax


# -- choosing a thread and queuing the code -------------------------------------------------------
def threads_of(pid):
    tids = sorted(int(t) for t in os.listdir("/proc/%d/task" % pid))
    return sorted(tids, key=lambda t: t != pid)  # main thread first


def queue_code(pid, code, modes=("thread", "pending"), attempts=40, on_step=None):
    """Make pid run `code` (bytes, Python source). Returns "thread" or "pending". Raises PtraceError."""
    if not supported():
        raise PtraceError("unsupported-platform", "injection needs Linux on x86-64 (this is %s)" % platform.machine())
    syms = Symbols(pid)
    data = code + b"\0"

    def gil_wait(nr, uaddr):
        # futex on the interpreter's own static data: waiting for the GIL (its condvar/mutex live in
        # _PyRuntime) with nothing else held; pthread_create there touches neither (see the module doc)
        return nr == FUTEX and syms.in_python_data(uaddr)
    last_seen = "no thread"
    for attempt in range(attempts):
        candidates = []
        for tid in threads_of(pid):
            nr, arg0 = syscall_of(pid, tid)
            if nr is None:
                continue
            # a new thread is the better way (it runs whatever the main thread does): for the first half
            # of the tries wait for a thread in a clean syscall; then accept a pending call
            if "thread" in modes and nr >= 0 and (clean_syscall(pid, nr, arg0) or gil_wait(nr, arg0)):
                candidates.append((0, tid))
            elif "pending" in modes and nr >= 0 and attempt >= attempts // 2:
                candidates.append((1, tid))
            elif "pending" in modes and attempt >= 3 * attempts // 4:
                candidates.append((2, tid))  # running Python: checked by pc once stopped
        for rank, tid in sorted(candidates):
            t = Stopped(pid, tid)
            try:
                t.__enter__()
            except PtraceError as e:
                if e.code == "not-found" and os.path.exists("/proc/%d" % pid):
                    continue  # that thread exited since the scan: try the next one
                raise
            try:
                nr = t.syscall()
                if rank == 0 and nr >= 0 and (clean_syscall(pid, nr, t.saved.rdi) or gil_wait(nr, t.saved.rdi)):
                    mode = "thread"
                elif rank >= 1 and "pending" in modes and (nr >= 0 or syms.in_python_code(t.pc)):
                    mode = "pending"
                else:
                    last_seen = "thread %d moved on" % tid
                    continue
                if on_step:
                    on_step("%s mode via thread %d (syscall %d)" % (mode, tid, nr))
                return _do(t, syms, mode, data)
            finally:
                t.__exit__(None, None, None)
        time.sleep(0.025)
    raise PtraceError("busy", "no thread of process %d stopped at a safe point in %d tries (%s)"
                      % (pid, attempts, last_seen))


def _do(t, syms, mode, data):
    page = 4096
    size = page + ((16 + len(data) + page - 1) // page) * page
    mem = t.call(syms.addr["mmap"], 0, size, 3, 0x22, (1 << 64) - 1, 0)
    if mem >= (1 << 64) - 4096 or mem == 0:
        raise PtraceError("failed", "mmap failed in the target")
    text = mem + page + 16
    t.write(text, data)
    if mode == "thread":
        t.write(mem, trampoline(syms.addr["PyGILState_Ensure"], syms.addr["PyRun_SimpleString"],
                                syms.addr["PyGILState_Release"]))
        if t.call(syms.addr["mprotect"], mem, page, 5) != 0:
            raise PtraceError("failed", "mprotect failed in the target")
        rc = t.call(syms.addr["pthread_create"], mem + page, 0, mem, text) & 0xFFFFFFFF
        if rc != 0:
            raise PtraceError("failed", "pthread_create failed in the target: %s" % os.strerror(rc))
        tid_value = struct.unpack("<Q", t.read(mem + page, 8))[0]
        t.call(syms.addr["pthread_detach"], tid_value)
    else:
        rc = t.call(syms.addr["Py_AddPendingCall"], syms.addr["PyRun_SimpleString"], text) & 0xFFFFFFFF
        if rc != 0:
            raise PtraceError("busy", "the target's pending-call queue is full")
    return mode


def trampoline(ensure, run, release):
    """x86-64 SysV: void *t(void *code) { int g = Ensure(); Run(code); Release(g); return 0; }"""
    def imm(v):
        return struct.pack("<Q", v)
    return (b"\x53"                          # push rbx
            b"\x41\x54"                      # push r12
            b"\x48\x83\xec\x08"              # sub rsp, 8   (16-byte aligned for the calls)
            b"\x48\x89\xfb"                  # mov rbx, rdi
            b"\x48\xb8" + imm(ensure) +      # movabs rax, PyGILState_Ensure
            b"\xff\xd0"                      # call rax
            b"\x41\x89\xc4"                  # mov r12d, eax
            b"\x48\x89\xdf"                  # mov rdi, rbx
            b"\x48\xb8" + imm(run) +         # movabs rax, PyRun_SimpleString
            b"\xff\xd0"                      # call rax
            b"\x44\x89\xe7"                  # mov edi, r12d
            b"\x48\xb8" + imm(release) +     # movabs rax, PyGILState_Release
            b"\xff\xd0"                      # call rax
            b"\x48\x83\xc4\x08"              # add rsp, 8
            b"\x41\x5c"                      # pop r12
            b"\x5b"                          # pop rbx
            b"\x31\xc0"                      # xor eax, eax
            b"\xc3")                         # ret
