"""`python -m workerlens_agent inject PID [--timeout S] [--json] [--force]`: start the agent in a
running CPython that has never heard of us, then print its discovery JSON (one line).

Method (ptrace_inject.py holds the details and the reasons): stop one thread with ptrace, call only
functions that cannot block (mmap, then pthread_create of a fresh native thread whose trampoline
takes the GIL like any thread, or Py_AddPendingCall so the main thread runs the code at its next
eval-breaker check), restore the thread's registers exactly and let it go. No interrupted thread
ever waits for the GIL, so a timeout or a cancel never leaves the worker mid-call; the boot code
does nothing once the injector has given up (its private directory is gone).
Python >= 3.14: sys.remote_exec(pid, file) run by the target's own interpreter binary.
"""
import errno
import json
import os
import re
import shutil
import subprocess
import sys
import signal
import tempfile
import threading
import time

from . import client, discovery, ptrace_inject

AGENT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

HINTS = {
    "unsupported-platform": "injection works on x86-64 Linux; start the worker with --workerlens / WORKERLENS=1",
    "ptrace-denied": ("run the injector as the same user as the target (or root); on Ubuntu allow attaching "
                      "to non-children with `sudo sysctl kernel.yama.ptrace_scope=0`; in a container add "
                      "--cap-add=SYS_PTRACE; or start the worker with --workerlens"),
    "not-python": "pick the PID of a CPython process (the Celery main process or a ForkPoolWorker child)",
    "unsupported-version": "the agent needs CPython 3.8 or newer; start the worker with a newer Python",
    "timeout": ("a thread of the worker held the GIL in C code for the whole time; nothing was left behind: "
                "try again (perhaps with a longer --timeout) or start the worker with --workerlens"),
    "busy": "the worker's threads are busy in C; try again or start it with --workerlens",
    "cancelled": "nothing was left behind in the worker; run the command again to retry",
    "untrusted-discovery": ("another user may have planted it: remove it (or have root remove it) and retry; "
                            "the agent only ever creates it with mode 0700 for its own user"),
    "not-found": "check the PID (ps -ef | grep celery); the process may have exited",
    "failed": "see the message; start the worker with --workerlens as a fallback",
}


class InjectError(Exception):
    def __init__(self, code, message):
        Exception.__init__(self, message)
        self.code = code
        self.message = message


# -- the target ---------------------------------------------------------------------------------
def _read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def target_uid(pid):
    for line in _read("/proc/%d/status" % pid).splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise InjectError("failed", "cannot read the owner of process %d" % pid)


def target_discovery_path(pid):
    """The discovery file the target's agent writes (its own XDG_RUNTIME_DIR, else /tmp/workerlens-<uid>)."""
    runtime = None
    try:
        for item in _read("/proc/%d/environ" % pid, "rb").split(b"\0"):
            if item.startswith(b"XDG_RUNTIME_DIR="):
                runtime = item.split(b"=", 1)[1].decode("utf-8", "replace")
    except OSError:
        pass
    if runtime and discovery.untrusted_reason(runtime, target_uid(pid), True) is None and os.path.isdir(runtime):
        return os.path.join(runtime, "workerlens", "%d.json" % pid)
    return "/tmp/workerlens-%d/%d.json" % (target_uid(pid), pid)


def running_agent(pid, path=None, timeout=5.0):
    """The target's discovery dict if its agent is up and answers as that pid, else None."""
    path = path or target_discovery_path(pid)
    uid = target_uid(pid)
    for p, is_dir in ((os.path.dirname(path), True), (path, False)):
        why = discovery.untrusted_reason(p, uid, is_dir)
        if why:
            raise InjectError("untrusted-discovery", why)
    try:
        info = json.loads(_read(path))
    except (OSError, ValueError):
        return None
    try:
        c = client.connect(info, timeout=timeout)
        try:
            if c.call("Python.getProcessInfo").get("pid") != pid:
                return None
        finally:
            c.close()
    except Exception:
        return None
    return info


def python_version(pid):
    """(major, minor) of the CPython in pid, from its executable or libpython mapping."""
    try:
        maps = _read("/proc/%d/maps" % pid)
        exe = os.readlink("/proc/%d/exe" % pid)
    except PermissionError:
        raise InjectError("ptrace-denied", "not allowed to inspect process %d (it belongs to another user)" % pid)
    except FileNotFoundError:
        raise InjectError("not-found", "no process %d" % pid)
    m = re.search(r"libpython(\d)\.(\d+)", maps) or re.search(r"python(\d)\.(\d+)", os.path.basename(exe))
    if not m:
        raise InjectError("not-python", "process %d (%s) is not a CPython interpreter" % (pid, exe))
    return int(m.group(1)), int(m.group(2)), exe, "libpython" in maps


# -- ptrace ---------------------------------------------------------------------------------------
def run_ptrace(pid, code):
    """Queues `code` in pid; returns "thread" or "pending" (how it will run). Raises InjectError."""
    try:
        return ptrace_inject.queue_code(pid, code.encode("utf-8"))
    except ptrace_inject.PtraceError as e:
        raise InjectError(e.code, e.message)
    except OSError as e:
        if e.errno == errno.ESRCH:
            raise InjectError("not-found", "process %d exited" % pid)
        if e.errno in (errno.EPERM, errno.EACCES):
            raise InjectError("ptrace-denied", "not allowed to write into process %d: %s" % (pid, e.strerror))
        raise InjectError("failed", "ptrace failed: %s" % e)


def run_remote_exec(pid, exe, script, timeout):
    code = "import sys; sys.remote_exec(%d, %r)" % (pid, script)
    try:
        out = subprocess.run([exe, "-c", code], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise InjectError("timeout", "sys.remote_exec did not return within %.0fs" % timeout)
    if out.returncode != 0:
        text = out.stdout.decode("utf-8", "replace").strip().splitlines()[-1:] or ["?"]
        if "ermission" in text[0] or "not permitted" in text[0]:
            raise InjectError("ptrace-denied", "sys.remote_exec was refused: %s" % text[0])
        raise InjectError("failed", "sys.remote_exec failed: %s" % text[0])
    return "remote_exec"


# -- the whole injection ------------------------------------------------------------------------
# What runs in the target (PyRun_SimpleString, in a new thread or as a pending call). It never
# raises, keeps out of __main__'s namespace, and does nothing once the injector has removed its
# private directory (timeout, cancel): a late run of an abandoned injection leaves no agent behind.
_BOOT = """\
import os, stat, sys
try:
    st = os.lstat(%(dir)r)
except OSError:
    st = None
claimed = False
if st is not None and stat.S_ISDIR(st.st_mode) and st.st_uid == %(uid)d:
    # the claim, atomic against the injector's withdrawal (it unlinks "go"): only one side wins
    try:
        os.rename(os.path.join(%(dir)r, "go"), os.path.join(%(dir)r, "taken"))
        claimed = True
    except OSError as e:
        claimed = e.errno == 13  # EACCES: a directory this user cannot write (the injector could not chown it)
if claimed:
    if %(agent)r not in sys.path:
        sys.path.append(%(agent)r)
    from workerlens_agent.inject_payload import main_wrapper
    main_wrapper(%(agent)r, os.path.join(%(dir)r, "err"), %(force)r)
"""


def boot_code(private_dir, uid, force):
    inner = _BOOT % {"dir": private_dir, "uid": uid, "agent": AGENT_DIR, "force": bool(force)}
    return ("try:\n    exec(compile(%r, '<workerlens-inject>', 'exec'), {'__name__': '__workerlens_inject__'})\n"
            "except BaseException:\n    pass\n" % inner)


def _private_dir(owner_uid):
    """A fresh directory only the target's user can write in: the target reports errors there."""
    d = tempfile.mkdtemp(prefix="workerlens-inject-")
    uid = os.getuid()
    if owner_uid != uid:
        try:
            os.chown(d, owner_uid, -1)
            uid = owner_uid
        except OSError:
            os.chmod(d, 0o711)  # the target can still see it exists; it just cannot report errors
    return d, uid


class _Cancel(object):
    """SIGTERM/SIGINT to the injector (the UI's Cancel) stops it at a safe point, like a timeout."""

    def __init__(self):
        self.flag = False
        self._old = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._old[sig] = signal.signal(sig, self._on)
        return self

    def _on(self, *_a):
        self.flag = True

    def __exit__(self, *_a):
        for sig, old in self._old.items():
            signal.signal(sig, old)

    def __call__(self):
        return self.flag


def inject(pid, timeout=30.0, force=False):
    with _Cancel() as cancelled:
        return _inject(pid, timeout, force, cancelled)


def _inject(pid, timeout, force, cancelled):
    t0 = time.time()
    deadline = t0 + timeout
    if not os.path.exists("/proc/%d" % pid):
        raise InjectError("not-found", "no process %d" % pid)
    if pid == os.getpid():
        raise InjectError("failed", "refusing to inject into the injector itself")
    major, minor, exe, shared = python_version(pid)
    path = target_discovery_path(pid)
    if not force:
        info = running_agent(pid, path)
        if info is not None:
            info["alreadyRunning"] = True
            return info
    if (major, minor) < (3, 8):
        raise InjectError("unsupported-version", "process %d runs Python %d.%d" % (pid, major, minor))
    private, uid = _private_dir(target_uid(pid))
    err_path = os.path.join(private, "err")
    open(os.path.join(private, "go"), "w").close()  # the start the target claims (or we withdraw)
    before = _mtime(path)
    mode = None
    try:
        if (major, minor) >= (3, 14):
            script = os.path.join(private, "boot.py")
            with open(script, "w") as f:
                f.write(boot_code(private, uid, force))
            os.chmod(script, 0o644)
            mode = run_remote_exec(pid, exe, script, max(1.0, deadline - time.time()))
        else:
            mode = run_ptrace(pid, boot_code(private, uid, force))
            _progress("queued the agent's start in process %d (%s); waiting for it to come up" % (
                pid, "a new thread that waits for the GIL" if mode == "thread" else "a pending call for the main thread"))
        while time.time() < deadline and not cancelled():
            if os.path.exists(err_path):
                raise InjectError("failed", "the agent failed to start in %d: %s" % (pid, _read(err_path)[:500]))
            if _mtime(path) != before or force is False:
                # the new agent answers only when its threads get the GIL: under a GIL-hogging thread
                # that takes as long as the hog, so wait for the answer up to the deadline
                info = running_agent(pid, path, timeout=max(5.0, deadline - time.time()))
                if info is not None and (not force or _mtime(path) != before):
                    info["alreadyRunning"] = False
                    info["injectedVia"] = mode  # "thread" | "pending" | "remote_exec"
                    return info
            time.sleep(0.05)
        if not _withdraw(private):
            # the target took the start as we gave up: its agent is coming up, never say "withdrawn"
            late_deadline = time.time() + 30.0
            while time.time() < late_deadline:
                if _mtime(path) != before:
                    info = running_agent(pid, path, timeout=max(1.0, late_deadline - time.time()))
                    if info is not None:
                        info["alreadyRunning"] = False
                        info["injectedVia"] = mode
                        info["late"] = True
                        return info
                if os.path.exists(err_path):
                    raise InjectError("failed", "the agent failed to start in %d: %s" % (pid, _read(err_path)[:500]))
                time.sleep(0.1)
            raise InjectError("timeout", "process %d took the agent's start just as the injector gave up (%.0fs); "
                                         "its agent did not answer within 30 s more and may still come up: "
                                         "check the Workers view" % (pid, timeout))
        if cancelled():
            raise InjectError("cancelled", "cancelled before the agent started in process %d; the queued start was "
                                           "withdrawn" % pid)
        if mode == "pending":
            raise InjectError("busy", "the main thread of process %d did not return to Python within %.0fs; the queued "
                                      "start was withdrawn: the worker's threads are busy in C" % (pid, timeout))
        raise InjectError("timeout", "the agent did not come up in process %d within %.0fs (a thread holds the GIL "
                                     "in C code); the queued start was withdrawn" % (pid, timeout))
    finally:
        shutil.rmtree(private, ignore_errors=True)  # from now on a late boot does nothing


def _withdraw(private):
    """Takes the queued start back: True when the target can no longer start it, False when it
    already claimed it (boot renamed "go" first)."""
    try:
        os.unlink(os.path.join(private, "go"))
        return True
    except FileNotFoundError:
        return not os.path.exists(os.path.join(private, "taken"))
    except OSError:
        return True  # could not unlink: the rmtree below removes the directory the claim needs


def _progress(text):
    try:
        sys.stderr.write("workerlens: %s\n" % text)
        sys.stderr.flush()
    except Exception:
        pass


def _mtime(path):
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def main(args):
    usage = "usage: python -m workerlens_agent inject PID [--timeout SECONDS] [--json] [--force]"
    as_json = "--json" in args
    force = "--force" in args
    rest = [a for a in args if a not in ("--json", "--force")]
    timeout = 30.0
    pid = None
    try:
        i = 0
        while i < len(rest):
            if rest[i] == "--timeout":
                timeout = float(rest[i + 1])
                i += 2
            elif rest[i].startswith("--timeout="):
                timeout = float(rest[i].split("=", 1)[1])
                i += 1
            elif pid is None and rest[i].isdigit():
                pid = int(rest[i])
                i += 1
            else:
                raise ValueError(rest[i])
        if pid is None:
            raise ValueError("PID")
    except (ValueError, IndexError) as e:
        sys.stderr.write("workerlens: bad argument %s\n%s\n" % (e, usage))
        return 2
    try:
        info = inject(pid, timeout=timeout, force=force)
    except InjectError as e:
        sys.stderr.write("workerlens: inject into %d failed (%s): %s. %s\n" % (pid, e.code, e.message, HINTS[e.code]))
        if as_json:
            sys.stdout.write(json.dumps({"error": {"code": e.code, "message": e.message, "hint": HINTS[e.code]}}) + "\n")
        return 1
    except Exception as e:  # never a traceback for the user
        sys.stderr.write("workerlens: inject into %d failed: %s: %s\n" % (pid, type(e).__name__, e))
        if as_json:
            sys.stdout.write(json.dumps({"error": {"code": "failed", "message": str(e), "hint": HINTS["failed"]}}) + "\n")
        return 1
    sys.stdout.write(json.dumps(info) + "\n")
    return 0
