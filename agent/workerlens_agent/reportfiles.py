"""Flight-recorder report files on disk: where they live, atomic writes, reading, pruning.

<reports dir>/<pid>-<start ms>.json, one per process (the start time keeps a reused pid from
overwriting a dead process's last report). Directory 0700 owned by this user (refused otherwise);
files 0600 written as temp (O_EXCL | O_NOFOLLOW) + rename, so a reader or a SIGKILL mid-write
sees the previous report or the new one, never half of one. No fsync: the report must outlive
the process, not the machine, and a flush every few seconds would cost the worker disk waits.
"""
import errno
import json
import os
import stat
import time

from . import discovery

FORMAT = "workerlens-report"
VERSION = 1
MAX_READ = 1 << 20       # a report is ~10-60 KB; anything over 1 MB is not one of ours
KEEP_DEAD = 50           # reports of exited processes kept (newest first)
MAX_AGE = 7 * 86400      # and never older than this
_TMP_AGE = 60            # a temp file this old was left by a process killed mid-write


def reports_dir():
    d = os.environ.get("WORKERLENS_REPORTS_DIR")
    if d:
        return os.path.abspath(d)
    return os.path.join(discovery.discovery_dir(), "reports")


def ensure_private_dir(path):
    """Create path (0700) and check it is a real directory owned by us; OSError says why not."""
    parent = os.path.dirname(path)
    if parent and not os.path.isdir(parent):
        os.makedirs(parent, 0o700)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise OSError(errno.ENOTDIR, "%s is not a directory" % path)
    if st.st_uid != os.getuid():
        raise OSError(errno.EPERM, "%s is owned by uid %d, not by this user (uid %d)" % (path, st.st_uid, os.getuid()))
    if stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(path, 0o700)


def file_name(pid, started_at):
    return "%d-%d.json" % (pid, int(started_at * 1000))


def parse_name(name):
    """(pid, start ms) from '<pid>-<ms>.json', else None."""
    if not name.endswith(".json"):
        return None
    a, _, b = name[:-5].partition("-")
    if not (a.isdigit() and b.isdigit()):
        return None
    return int(a), int(b)


def write_atomic(directory, name, data):
    """Write bytes to directory/name through a private temp file and a rename."""
    final = os.path.join(directory, name)
    tmp = os.path.join(directory, ".%s.%d.%s.tmp" % (name, os.getpid(), os.urandom(4).hex()))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
        finally:
            os.close(fd)
        os.rename(tmp, final)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return final


def read_one(path):
    """(report dict, None) or (None, why it was skipped)."""
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            return None, "not a regular file"
        if st.st_size > MAX_READ:
            return None, "too large (%d bytes) for a report" % st.st_size
        with open(path, "rb") as f:
            data = f.read(MAX_READ + 1)
    except OSError as e:
        return None, "unreadable: %s" % (e.strerror or e)
    if not data:
        return None, "empty"
    try:
        doc = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        return None, "truncated or not JSON (%s)" % str(e)[:80]
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("pid"), int):
        return None, "not a Worker Lens report"
    if doc.get("version") != VERSION:
        return None, "report format version %r; this agent reads %d" % (doc.get("version"), VERSION)
    return doc, None


def read_all(directory, ppid=None, want_pid=None):
    """Every report in directory (optionally only children of ppid), and notes on skipped files.

    want_pid(pid) -> bool picks files by the pid in their name before any is read (a scrape reads
    only live processes' files, not the last reports of up to 50 dead ones).
    """
    reports, notes = [], []
    try:
        names = sorted(os.listdir(directory))
    except OSError as e:
        return [], ["cannot list %s: %s" % (directory, e.strerror or e)]
    for name in names:
        parsed = parse_name(name)
        if parsed is None or (want_pid is not None and not want_pid(parsed[0])):
            continue
        doc, why = read_one(os.path.join(directory, name))
        if doc is None:
            notes.append("skipped %s: %s" % (name, why))
            continue
        if ppid is not None and doc.get("ppid") != ppid:
            continue
        doc["_file"] = name
        reports.append(doc)
    return reports, notes


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, not ours to signal


def prune(directory, keep=KEEP_DEAD, max_age=MAX_AGE, now=None):
    """Remove reports of exited processes beyond the newest `keep` or older than max_age; stale temps."""
    now = time.time() if now is None else now
    try:
        names = os.listdir(directory)
    except OSError:
        return 0
    dead = []
    removed = 0
    for name in names:
        path = os.path.join(directory, name)
        if name.startswith(".") and name.endswith(".tmp"):
            try:
                if now - os.lstat(path).st_mtime > _TMP_AGE:
                    os.unlink(path)
                    removed += 1
            except OSError:
                pass
            continue
        parsed = parse_name(name)
        if parsed is None or alive(parsed[0]):
            continue
        try:
            dead.append((os.lstat(path).st_mtime, path))
        except OSError:
            pass
    dead.sort(reverse=True)
    for i, (mtime, path) in enumerate(dead):
        if i >= keep or now - mtime > max_age:
            try:
                os.unlink(path)
                removed += 1
            except OSError:
                pass
    return removed
