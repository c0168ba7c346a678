"""`python -m workerlens_agent inject PID [--timeout S] [--json] [--force]`: start the agent in a
running CPython that has never heard of us, then print its discovery JSON (one line).

Method (measured in shared/recipes/inject_auto.sh): gdb attaches and asks PyGILState_Check() in
the thread it stopped. If that thread does not hold the GIL (idle, e.g. blocked in read()), run
the payload right there: PyGILState_Ensure + PyRun_SimpleString + Release. If it holds it (busy in
the interpreter), queue Py_AddPendingCall(PyRun_SimpleString, copy) so the main thread runs it at
the next safe point after gdb detaches. The payload string is copied into PyMem_RawMalloc'd memory
written by gdb itself (no libc symbols needed), never raises (try/except around everything: a
pending call that fails would surface as a SystemError in the host), and execs in its own namespace.
Python >= 3.14: sys.remote_exec(pid, file) run by the target's own interpreter binary.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from . import client

AGENT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

HINTS = {
    "no-gdb": "install gdb (Debian/Ubuntu: apt-get install gdb), or start the worker with --workerlens / WORKERLENS=1",
    "ptrace-denied": ("run the injector as the same user as the target (or root); on Ubuntu allow attaching "
                      "to non-children with `sudo sysctl kernel.yama.ptrace_scope=0`; in a container add "
                      "--cap-add=SYS_PTRACE; or start the worker with --workerlens"),
    "not-python": "pick the PID of a CPython process (the Celery main process or a ForkPoolWorker child)",
    "unsupported-version": "the agent needs CPython 3.8 or newer; start the worker with a newer Python",
    "timeout": ("the target did not run the payload in time: a busy main thread stuck in C code runs it only "
                "when it returns to Python; retry with a longer --timeout or start the worker with --workerlens"),
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
    if runtime and os.path.isdir(runtime):
        return os.path.join(runtime, "workerlens", "%d.json" % pid)
    return "/tmp/workerlens-%d/%d.json" % (target_uid(pid), pid)


def running_agent(pid, path=None):
    """The target's discovery dict if its agent is up and answers as that pid, else None."""
    path = path or target_discovery_path(pid)
    try:
        info = json.loads(_read(path))
    except (OSError, ValueError):
        return None
    try:
        c = client.connect(info, timeout=5)
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


# -- gdb ----------------------------------------------------------------------------------------
def _gdb_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def gdb_commands(code, shared_lib):
    n = len(code.encode("utf-8")) + 1
    lines = ["set pagination off", "set confirm off"]
    if shared_lib:
        lines.append("sharedlibrary libpython3")
    lines += [
        "set $held = (int)PyGILState_Check()",
        "set $s = (char*)PyMem_RawMalloc(%d)" % n,
        "set {char[%d]}$s = %s" % (n, _gdb_string(code)),
        "if $held == 0",
        "  set $g = (int)PyGILState_Ensure()",
        "  set $rc = (int)PyRun_SimpleString($s)",
        "  call (void)PyGILState_Release($g)",
        '  printf "WLMODE=direct rc=%d\\n", $rc',
        "else",
        "  set $rc = (int)Py_AddPendingCall((void*)&PyRun_SimpleString, (void*)$s)",
        '  printf "WLMODE=pending rc=%d\\n", $rc',
        "end",
        "detach",
        "quit",
    ]
    return "\n".join(lines) + "\n"


def run_gdb(pid, code, shared_lib, timeout):
    gdb = shutil.which("gdb")
    if not gdb:
        raise InjectError("no-gdb", "gdb is not installed")
    fd, cmds = tempfile.mkstemp(prefix="workerlens-gdb-", suffix=".gdb")
    try:
        os.write(fd, gdb_commands(code, shared_lib).encode("utf-8"))
        os.close(fd)
        try:
            out = subprocess.run(
                [gdb, "-q", "-nx", "-batch", "-iex", "set auto-solib-add off", "-iex", "set auto-load off",
                 "-iex", "set libthread-db-search-path /nonexistent", "-p", str(pid), "-x", cmds],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                timeout=timeout).stdout.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            raise InjectError("timeout", "gdb did not finish within %.0fs" % timeout)
    finally:
        os.unlink(cmds)
    m = re.search(r"WLMODE=(\w+) rc=(-?\d+)", out)
    if m and m.group(2) == "0":
        return m.group(1)
    if "Operation not permitted" in out or "ptrace:" in out and "not permitted" in out.lower():
        raise InjectError("ptrace-denied", "ptrace is not permitted on process %d" % pid)
    if "No such process" in out:
        raise InjectError("not-found", "no process %d" % pid)
    if "No symbol" in out:
        raise InjectError("not-python", "process %d has no CPython C-API symbols gdb can call" % pid)
    last = [line for line in out.splitlines() if line.strip()][-3:]
    raise InjectError("failed", "gdb injection failed: %s" % " | ".join(last)[:500])


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
def inject(pid, timeout=30.0, force=False):
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
    fd, payload = tempfile.mkstemp(prefix="workerlens-inject-", suffix=".py")
    err_path = payload + ".err"
    os.write(fd, ("from workerlens_agent.inject_payload import main_wrapper\n"
                  "main_wrapper(%r, %r, %r)\n" % (AGENT_DIR, err_path, bool(force))).encode("utf-8"))
    os.close(fd)
    os.chmod(payload, 0o644)  # the target may run as another user (root injecting)
    # the wrapper that PyRun_SimpleString runs: must never raise, runs in its own namespace
    code = ("try:\n    import sys as _wl_sys\n    _wl_sys.path.append(%r) if %r not in _wl_sys.path else None\n"
            "    exec(compile(open(%r).read(), %r, 'exec'), {'__name__': '__workerlens_inject__'})\n"
            "except BaseException:\n    pass\n" % (AGENT_DIR, AGENT_DIR, payload, payload))
    before = _mtime(path)
    try:
        if (major, minor) >= (3, 14):
            run_remote_exec(pid, exe, payload, max(1.0, deadline - time.time()))
        else:
            run_gdb(pid, code, shared, max(1.0, deadline - time.time()))
        while time.time() < deadline:
            if os.path.exists(err_path):
                raise InjectError("failed", "the agent failed to start in %d: %s" % (pid, _read(err_path)[:500]))
            if _mtime(path) != before or force is False:
                info = running_agent(pid, path)
                if info is not None and (not force or _mtime(path) != before):
                    info["alreadyRunning"] = False
                    return info
            time.sleep(0.05)
        raise InjectError("timeout", "the agent did not come up in process %d within %.0fs" % (pid, timeout))
    finally:
        for p in (payload, err_path):
            try:
                os.unlink(p)
            except OSError:
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
