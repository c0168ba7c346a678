"""Python.getMemoryBreakdown / Python.trimMemory: where a process's RSS is, not only the gc's objects.

Parts of RSS, each with how it was obtained (exact / estimated / unavailable + reason):
  fileBacked         code and mapped files          /proc/self/smaps_rollup Rss - Anonymous   exact
  pythonTracked      objects gc.get_objects() sees  heapcounts sizes (sampled for containers) estimated
  pythonUntracked    str/bytes/int/float/... reached from tracked containers (untracked.py)    estimated
  allocatorOverhead  pymalloc arenas not holding objects  _PyObject_DebugMallocStats(FILE*)  exact
  mallocFree         free memory glibc malloc holds  mallinfo2().fordblks                      exact
  nativeOther        anonymous RSS none of the above explains (C extensions, ctypes, stacks)  estimated
Every C call goes through ctypes into libc/libpython: no user code runs. malloc_info's XML (per
arena) and pymalloc's stats are written to an open_memstream() buffer, never to the worker's stderr.
"""
import os
import re
import time

from . import heapcounts

try:
    import ctypes
except Exception:  # a Python built without _ctypes: the C figures say unavailable
    ctypes = None

EXACT, ESTIMATED, UNAVAILABLE = "exact", "estimated", "unavailable"
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_MALLINFO2_FIELDS = ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
                     "fordblks", "keepcost")


# -- /proc -------------------------------------------------------------------------------------
def _kb_table(path):
    out = {}
    with open(path, "rb") as f:
        for line in f.read().decode("ascii", "replace").splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                out[parts[0][:-1]] = int(parts[1]) * 1024
    return out


def process_memory(proc="/proc/self"):
    """RSS and its shared/private split. smaps_rollup (Linux >= 4.14), else status, else statm."""
    try:
        t = _kb_table(proc + "/smaps_rollup")
        if "Rss" in t:
            return {"rssBytes": t["Rss"], "pssBytes": t.get("Pss"), "anonymousBytes": t.get("Anonymous"),
                    "sharedBytes": t.get("Shared_Clean", 0) + t.get("Shared_Dirty", 0),
                    "privateBytes": t.get("Private_Clean", 0) + t.get("Private_Dirty", 0),
                    "privateDirtyBytes": t.get("Private_Dirty"), "swapBytes": t.get("Swap"),
                    "source": "/proc/self/smaps_rollup", "how": EXACT}
    except (OSError, ValueError):
        pass
    reason = "no /proc/self/smaps_rollup (Linux < 4.14 or no /proc)"
    try:
        t = _kb_table(proc + "/status")
        if "VmRSS" in t:
            return {"rssBytes": t["VmRSS"], "pssBytes": None, "anonymousBytes": t.get("RssAnon"),
                    "sharedBytes": None, "privateBytes": None, "privateDirtyBytes": None,
                    "swapBytes": t.get("VmSwap"), "source": "/proc/self/status", "how": EXACT,
                    "reason": reason + ": no shared/private split"}
    except (OSError, ValueError):
        pass
    try:
        with open(proc + "/statm", "rb") as f:
            rss = int(f.read().split()[1]) * _PAGE
        return {"rssBytes": rss, "pssBytes": None, "anonymousBytes": None, "sharedBytes": None,
                "privateBytes": None, "privateDirtyBytes": None, "swapBytes": None,
                "source": "/proc/self/statm", "how": EXACT, "reason": reason + ": RSS only"}
    except (OSError, ValueError, IndexError):
        pass
    return {"rssBytes": None, "how": UNAVAILABLE, "reason": "no /proc/self: RSS unknown", "source": None}


# -- libc --------------------------------------------------------------------------------------
class _Libc(object):
    """ctypes handles resolved once; each missing symbol leaves a reason instead."""

    def __init__(self):
        self.reason = None
        self.lib = None
        self.mallinfo2 = self.mallinfo = self.malloc_info = self.malloc_trim = None
        self.open_memstream = self.fclose = self.free = None
        self.debug_stats = None
        self.allocator = "glibc"
        if ctypes is None:
            self.reason = "ctypes is not available in this Python"
            return
        try:
            lib = ctypes.CDLL(None)
        except Exception as e:
            self.reason = "cannot open the C library: %s" % e
            return
        self.lib = lib
        for other, name in (("mallctl", "jemalloc"), ("tc_malloc", "tcmalloc"), ("mi_malloc", "mimalloc")):
            if hasattr(lib, other):
                self.allocator = name
        if not hasattr(lib, "gnu_get_libc_version"):
            self.allocator = "not glibc" if self.allocator == "glibc" else self.allocator
        vp, sz = ctypes.c_void_p, ctypes.c_size_t

        class MallInfo2(ctypes.Structure):
            _fields_ = [(f, sz) for f in _MALLINFO2_FIELDS]

        class MallInfo(ctypes.Structure):
            _fields_ = [(f, ctypes.c_int) for f in _MALLINFO2_FIELDS]

        if hasattr(lib, "mallinfo2"):
            self.mallinfo2 = lib.mallinfo2
            self.mallinfo2.restype = MallInfo2
            self.mallinfo2.argtypes = []
        elif hasattr(lib, "mallinfo"):
            self.mallinfo = lib.mallinfo
            self.mallinfo.restype = MallInfo
            self.mallinfo.argtypes = []
        if hasattr(lib, "malloc_trim"):
            self.malloc_trim = lib.malloc_trim
            self.malloc_trim.restype = ctypes.c_int
            self.malloc_trim.argtypes = [sz]
        if hasattr(lib, "open_memstream") and hasattr(lib, "fclose") and hasattr(lib, "free"):
            self.open_memstream = lib.open_memstream
            self.open_memstream.restype = vp
            self.open_memstream.argtypes = [ctypes.POINTER(vp), ctypes.POINTER(sz)]
            self.fclose = lib.fclose
            self.fclose.argtypes = [vp]
            self.free = lib.free
            self.free.argtypes = [vp]
            if hasattr(lib, "malloc_info"):
                self.malloc_info = lib.malloc_info
                self.malloc_info.restype = ctypes.c_int
                self.malloc_info.argtypes = [ctypes.c_int, vp]
            try:
                # PyDLL: called with the GIL held, as pymalloc's state requires
                fn = ctypes.pythonapi._PyObject_DebugMallocStats
                fn.restype = ctypes.c_int
                fn.argtypes = [vp]
                self.debug_stats = fn
            except Exception:
                self.debug_stats = None

    def memstream(self, write):
        """Text that write(FILE*) printed into a malloc'ed memory stream (never the process's stderr)."""
        buf = ctypes.c_void_p()  # not c_char_p + cast(): cast() makes a reference cycle per call
        size = ctypes.c_size_t()
        fp = self.open_memstream(ctypes.byref(buf), ctypes.byref(size))
        if not fp:
            raise OSError("open_memstream failed")
        try:
            ret = write(fp)
        finally:
            self.fclose(fp)  # flushes; buf/size are valid after this
        try:
            text = ctypes.string_at(buf.value, size.value).decode("utf-8", "replace") if size.value and buf.value else ""
        finally:
            self.free(buf)
        return ret, text


_libc = None


def libc():
    global _libc
    if _libc is None:
        _libc = _Libc()
    return _libc


_HEAP_RE = re.compile(r'<heap nr="(\d+)">(.*?)</heap>', re.S)
_TOTAL_RE = re.compile(r'<total type="(\w+)" count="(\d+)" size="(\d+)"/>')
_SYSTEM_RE = re.compile(r'<system type="current" size="(\d+)"/>')


def parse_malloc_info(xml):
    """Per-arena figures from glibc's malloc_info(0) XML: free bytes (fast + rest) and system bytes."""
    arenas = []
    for nr, body in _HEAP_RE.findall(xml):
        free = sum(int(size) for kind, _c, size in _TOTAL_RE.findall(body) if kind in ("fast", "rest"))
        m = _SYSTEM_RE.search(body)
        arenas.append({"arena": int(nr), "systemBytes": int(m.group(1)) if m else None, "freeBytes": free})
    tail = _HEAP_RE.sub("", xml)
    mmap = [(int(c), int(s)) for kind, c, s in _TOTAL_RE.findall(tail) if kind == "mmap"]
    return arenas, (mmap[0] if mmap else None)


def malloc_stats(per_arena=True):
    """glibc's view: bytes in use, free bytes it holds, arenas. Unavailable (with why) elsewhere."""
    lc = libc()
    if lc.reason:
        return {"how": UNAVAILABLE, "reason": lc.reason}
    if lc.allocator != "glibc":
        return {"how": UNAVAILABLE, "allocator": lc.allocator,
                "reason": "malloc is %s here: glibc's mallinfo2 would describe an allocator nobody uses" % lc.allocator}
    if lc.mallinfo2 is not None:
        mi = lc.mallinfo2()
        how, source, reason = EXACT, "glibc mallinfo2()", None
    elif lc.mallinfo is not None:
        mi = lc.mallinfo()
        how, source = ESTIMATED, "glibc mallinfo() (int fields: wrong beyond 2 GB)"
        reason = "no mallinfo2 (glibc < 2.33)"
    else:
        return {"how": UNAVAILABLE, "reason": "no mallinfo2/mallinfo in this C library (musl?)"}
    out = {"how": how, "source": source, "allocator": "glibc",
           "arenaBytes": int(mi.arena), "mmapBytes": int(mi.hblkhd), "mmapChunks": int(mi.hblks),
           "inUseBytes": int(mi.uordblks) + int(mi.hblkhd), "freeBytes": int(mi.fordblks),
           "topReleasableBytes": int(mi.keepcost), "arenas": None, "perArena": None}
    if reason:
        out["reason"] = reason
    if per_arena and lc.malloc_info is not None:
        try:
            _ret, xml = lc.memstream(lambda fp: lc.malloc_info(0, fp))
            arenas, _mmap = parse_malloc_info(xml)
            out["arenas"] = len(arenas)
            out["perArena"] = arenas[:64]
        except Exception as e:
            out["perArenaReason"] = "malloc_info failed: %s" % e
    elif per_arena:
        out["perArenaReason"] = "no malloc_info/open_memstream in this C library"
    return out


_STAT_RE = re.compile(r"^(#[^=]+|\d+ arenas \* \d+ bytes/arena|\d+ unused pools \* \d+ bytes|Total)\s*=\s*([\d,]+)\s*$")


def parse_pymalloc_stats(text):
    """The arena section of _PyObject_DebugMallocStats: arena bytes, bytes in objects, overhead."""
    vals = {}
    for line in text.splitlines():
        m = _STAT_RE.match(line.strip())
        if not m:
            continue
        key, value = m.group(1).strip(), int(m.group(2).replace(",", ""))
        if "arenas *" in key:
            vals["arenaTotal"] = value
        elif key == "# bytes in allocated blocks":
            vals["allocated"] = value
        elif key == "# bytes in available blocks":
            vals["available"] = value
        elif "unused pools" in key:
            vals["unusedPools"] = value
        elif key.startswith("# bytes lost to") and "arena map" not in key:
            vals["lost"] = vals.get("lost", 0) + value
        elif key == "# arenas allocated current":
            vals["arenas"] = value
    return vals


def pymalloc_stats():
    lc = libc()
    if lc.reason:
        return {"how": UNAVAILABLE, "reason": lc.reason}
    if lc.debug_stats is None or lc.open_memstream is None:
        return {"how": UNAVAILABLE, "reason": "_PyObject_DebugMallocStats or open_memstream not found"}
    ret, text = lc.memstream(lc.debug_stats)
    if not ret:
        return {"how": UNAVAILABLE, "reason": "pymalloc is not in use (PYTHONMALLOC=malloc or a debug build)"}
    v = parse_pymalloc_stats(text)
    if "arenaTotal" not in v or "allocated" not in v:
        return {"how": UNAVAILABLE, "reason": "unrecognised _PyObject_DebugMallocStats output"}
    return {"how": EXACT, "source": "_PyObject_DebugMallocStats (pymalloc arenas)", "arenas": v.get("arenas"),
            "arenaBytes": v["arenaTotal"], "objectBytes": v["allocated"],
            "overheadBytes": max(0, v["arenaTotal"] - v["allocated"]),
            "freeBlockBytes": v.get("available", 0), "unusedPoolBytes": v.get("unusedPools", 0)}


# -- the breakdown -----------------------------------------------------------------------------
_last_walk = [None, 0, 0.0]  # bytes, objects, unix time of the last untracked walk (numbers only)

def _part(key, label, value, how, source, reason=None):
    d = {"key": key, "label": label, "bytes": None if value is None else int(value), "how": how, "source": source}
    if reason:
        d["reason"] = reason
    return d


def breakdown(untracked=False, per_arena=True, counts=None):
    """The parts of RSS. `untracked` adds the walk over untracked objects and containers (slower)."""
    t0 = time.perf_counter()
    proc = process_memory()
    t_counts = time.perf_counter()
    counts_note = ""
    if counts is None:
        recent = heapcounts.recent_totals()
        if recent is not None:
            counts = {"totalObjects": recent[0], "totalSize": recent[1]}
            counts_note = " (the count %.1f s ago)" % recent[2]
        else:
            counts = heapcounts.object_counts(limit=1)
    counts_ms = (time.perf_counter() - t_counts) * 1000.0
    py = pymalloc_stats()
    mal = malloc_stats(per_arena=per_arena)
    unt = None
    unt_ms = 0.0
    if untracked:
        from . import untracked as untracked_mod
        t_u = time.perf_counter()
        unt = untracked_mod.walk()
        unt_ms = (time.perf_counter() - t_u) * 1000.0
        _last_walk[0], _last_walk[1], _last_walk[2] = unt["bytes"], unt["objects"], time.time()
    rss = proc.get("rssBytes")
    anon = proc.get("anonymousBytes")
    parts = []
    if rss is not None and anon is not None:
        parts.append(_part("fileBacked", "code and mapped files (interpreter, libraries)", rss - anon, EXACT,
                           proc["source"] + ": Rss - Anonymous"))
    else:
        parts.append(_part("fileBacked", "code and mapped files (interpreter, libraries)", None, UNAVAILABLE, None,
                           proc.get("reason") or "no Anonymous figure"))
    parts.append(_part("pythonTracked", "Python objects the gc tracks", counts["totalSize"], ESTIMATED,
                       "gc.get_objects(): %d objects; exact sizes for fixed-size types, sampled for containers%s"
                       % (counts["totalObjects"], counts_note)))
    if unt is not None:
        parts.append(_part("pythonUntracked", "Python objects the gc does not track (str, bytes, int, ...)",
                           unt["bytes"], ESTIMATED,
                           "gc.get_referents() of tracked containers: %d objects%s"
                           % (unt["objects"], " (walk stopped at its limit)" if unt["partial"] else "")))
    elif _last_walk[0] is not None and time.time() - _last_walk[2] < 600:
        # between walks the last walk's figure stands (said so), so nativeOther does not jump by it
        parts.append(_part("pythonUntracked", "Python objects the gc does not track (str, bytes, int, ...)",
                           _last_walk[0], ESTIMATED, "the untracked walk %.0f s ago: %d objects"
                           % (time.time() - _last_walk[2], _last_walk[1])))
    else:
        parts.append(_part("pythonUntracked", "Python objects the gc does not track (str, bytes, int, ...)", None,
                           UNAVAILABLE, None, "not walked yet (untracked: true walks them)"))
    if py["how"] == EXACT:
        parts.append(_part("allocatorOverhead", "interpreter/allocator overhead (pymalloc arenas not holding objects)",
                           py["overheadBytes"], EXACT, py["source"]))
    else:
        parts.append(_part("allocatorOverhead", "interpreter/allocator overhead (pymalloc arenas not holding objects)",
                           None, UNAVAILABLE, None, py["reason"]))
    if mal["how"] != UNAVAILABLE:
        parts.append(_part("mallocFree", "free memory malloc holds and has not returned", mal["freeBytes"], mal["how"],
                           mal["source"] + ".fordblks (some of it may already be out of RAM)", mal.get("reason")))
    else:
        parts.append(_part("mallocFree", "free memory malloc holds and has not returned", None, UNAVAILABLE, None,
                           mal["reason"]))
    known = [p["bytes"] for p in parts if p["key"] != "fileBacked" and p["bytes"] is not None]
    if anon is not None:
        rest = anon - sum(known)
        note = None
        if rest < 0:
            note = "the estimates above exceed anonymous RSS by %d bytes (free malloc memory not in RAM, or sampled sizes)" % -rest
        parts.append(_part("nativeOther", "native allocations no Python object explains (C extensions, ctypes, stacks)",
                           max(0, rest), ESTIMATED,
                           "anonymous RSS minus the parts above", note))
    else:
        parts.append(_part("nativeOther", "native allocations no Python object explains (C extensions, ctypes, stacks)",
                           None, UNAVAILABLE, None, "no anonymous RSS figure: " + (proc.get("reason") or "")))
    out = {"rssBytes": rss, "process": proc, "parts": parts, "malloc": mal, "pymalloc": py,
           "trackedObjects": counts["totalObjects"], "untracked": unt,
           "pid": os.getpid(), "timestamp": time.time(),
           "costMs": {"total": round((time.perf_counter() - t0) * 1000.0, 3), "counts": round(counts_ms, 3),
                      "untracked": round(unt_ms, 3)}}
    return out


def trim():
    """malloc_trim(0): glibc returns free pages of every arena to the OS. RSS before/after is the proof."""
    lc = libc()
    before = process_memory()
    mal_before = malloc_stats(per_arena=False)
    if lc.reason or lc.malloc_trim is None or lc.allocator != "glibc":
        reason = lc.reason or ("malloc is %s here, not glibc" % lc.allocator if lc.allocator != "glibc"
                               else "no malloc_trim in this C library")
        return {"trimmed": False, "reason": reason, "rssBeforeBytes": before.get("rssBytes"),
                "rssAfterBytes": before.get("rssBytes"), "releasedBytes": 0, "trimMs": 0.0,
                "mallocFreeBeforeBytes": mal_before.get("freeBytes"), "mallocFreeAfterBytes": mal_before.get("freeBytes")}
    t0 = time.perf_counter()
    released = lc.malloc_trim(0)  # CDLL call: the GIL is released, Python threads keep running
    trim_ms = (time.perf_counter() - t0) * 1000.0
    after = process_memory()
    mal_after = malloc_stats(per_arena=False)
    rb, ra = before.get("rssBytes"), after.get("rssBytes")
    return {"trimmed": bool(released), "rssBeforeBytes": rb, "rssAfterBytes": ra,
            "releasedBytes": (rb - ra) if rb is not None and ra is not None else None,
            "trimMs": round(trim_ms, 3), "source": "glibc malloc_trim(0); RSS from " + str(before.get("source")),
            "mallocFreeBeforeBytes": mal_before.get("freeBytes"), "mallocFreeAfterBytes": mal_after.get("freeBytes")}


def warm_up():
    """Resolve ctypes symbols now, so the first breakdown adds no objects that look like growth."""
    try:
        libc()
    except Exception:
        pass
