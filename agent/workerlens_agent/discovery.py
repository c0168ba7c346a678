"""Discovery files: $XDG_RUNTIME_DIR/workerlens/<pid>.json, else /tmp/workerlens-<uid>/<pid>.json.

Directory 0700, file 0600, written atomically (temp file + rename), removed on exit by the process
that wrote it (never by a forked child that inherited the atexit hook).
"""
import json
import os
import stat


def _own_private_dir(path, uid):
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == uid and not st.st_mode & 0o022


def discovery_dir():
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    # an XDG_RUNTIME_DIR we do not own (inherited through sudo, say) is not ours to write tokens in
    if runtime and _own_private_dir(runtime, os.getuid()):
        return os.path.join(runtime, "workerlens")
    return "/tmp/workerlens-%d" % os.getuid()


def untrusted_reason(path, uid, is_dir):
    """Why a discovery directory/file must not be believed (None: fine). It must be owned by `uid`
    (the agent's user) or root, not a symlink, and closed to others: /tmp is shared, and another
    user can pre-create /tmp/workerlens-<uid> with a fake agent's address in it."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as e:
        return "cannot check %s: %s" % (path, e.strerror)
    kind_ok = stat.S_ISDIR(st.st_mode) if is_dir else stat.S_ISREG(st.st_mode)
    if not kind_ok:
        return "%s is not a %s (a symlink or something planted)" % (path, "directory" if is_dir else "regular file")
    if st.st_uid not in (uid, 0):
        return "%s belongs to uid %d, not to uid %d: refusing to trust it" % (path, st.st_uid, uid)
    if st.st_mode & 0o022:
        return "%s has mode %o: others could change it; refusing to trust it" % (path, stat.S_IMODE(st.st_mode))
    return None


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
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(tmp, flags, 0o600)
    except FileExistsError:  # ours from a crash, or planted (a hard link to elsewhere): drop the name
        os.unlink(tmp)
        fd = os.open(tmp, flags, 0o600)
    try:
        try:
            data = memoryview(json.dumps(info, indent=2).encode("utf-8"))
            while data:
                data = data[os.write(fd, data):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, final)
    except BaseException:
        remove(tmp)  # a full disk must not leave an empty file that readers take for an agent
        raise
    return final


def read(pid):
    path = path_for(pid)
    if untrusted_reason(os.path.dirname(path), os.getuid(), True) or untrusted_reason(path, os.getuid(), False):
        return None
    try:
        with open(path, "rb") as f:
            return json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError):
        return None


def remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass
