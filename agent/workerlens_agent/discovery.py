"""Discovery files: $XDG_RUNTIME_DIR/workerlens/<pid>.json, else /tmp/workerlens-<uid>/<pid>.json.

Directory 0700, file 0600, written atomically (temp file + rename), removed on exit by the process
that wrote it (never by a forked child that inherited the atexit hook).
"""
import json
import os
import stat


def discovery_dir():
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return os.path.join(runtime, "workerlens")
    return "/tmp/workerlens-%d" % os.getuid()


def _ensure_dir(path):
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    # /tmp is shared: refuse a directory (or symlink) another user planted for us
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise OSError("discovery directory %s is not a directory owned by uid %d" % (path, os.getuid()))
    if stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(path, 0o700)


def path_for(pid):
    return os.path.join(discovery_dir(), "%d.json" % pid)


def prune(directory):
    """Remove files of processes that died without cleaning up (SIGKILL, os._exit)."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if not name.endswith(".json") or not name[:-5].isdigit():
            continue
        try:
            os.kill(int(name[:-5]), 0)
        except ProcessLookupError:
            remove(os.path.join(directory, name))
        except OSError:
            pass


def write(info):
    directory = discovery_dir()
    _ensure_dir(directory)
    prune(directory)
    final = os.path.join(directory, "%d.json" % info["pid"])
    tmp = os.path.join(directory, ".%d.%d.tmp" % (info["pid"], os.getpid()))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        os.write(fd, json.dumps(info, indent=2).encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, final)
    return final


def read(pid):
    try:
        with open(path_for(pid), "rb") as f:
            return json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError):
        return None


def remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass
