"""HeapProfiler.takeHeapSnapshot: walk the heap in a fork()ed copy and stream it back as CDP chunks.

The worker pauses only for fork() itself (page tables copied, GIL held). The child walks its
copy-on-write view of the heap (heapgraph.build), writes the V8 JSON into a pipe and _exit()s; the
parent's agent thread forwards the bytes as HeapProfiler.addHeapSnapshotChunk events, then folds
the child's address->id table into its IdMap in small slices so ids stay stable across snapshots.
Where fork() is impossible (no os.fork, WORKERLENS_SNAPSHOT=inprocess, fork failed) the walk runs
in-process: correct, but the worker is slowed for the whole walk. The path used is reported.
"""
import gc
import json
import os
import struct
import sys
import time
from array import array

from . import heapgraph
from ._compat import originals

CHUNK_BYTES = 256 * 1024
NODE_FIELDS = ["type", "name", "id", "self_size", "edge_count", "detachedness"]
EDGE_FIELDS = ["type", "name_or_index", "to_node"]
_json_str = json.encoder.encode_basestring_ascii  # C; resolved up front: no imports in the child

# pipe records from the child: 1-byte tag + 4-byte length + payload
T_CHUNK, T_PROGRESS, T_IDS, T_DONE, T_ERROR = b"C", b"P", b"I", b"D", b"E"
_CHUNK_HEAD = b'{"method":"HeapProfiler.addHeapSnapshotChunk","params":{"chunk":'


def meta():
    return {
        "node_fields": NODE_FIELDS,
        "node_types": [heapgraph.NODE_TYPES, "string", "number", "number", "number", "number"],
        "edge_fields": EDGE_FIELDS,
        "edge_types": [heapgraph.EDGE_TYPES, "string_or_number", "node"],
        "trace_function_info_fields": ["function_id", "name", "script_name", "script_id", "line", "column"],
        "trace_node_fields": ["id", "function_info_index", "count", "size", "children"],
        "sample_fields": ["timestamp_us", "last_assigned_id"],
        "location_fields": ["object_index", "script_id", "line", "column"],
    }


def write_json(g, sink):
    """Streams the graph as .heapsnapshot JSON text to sink(str) in ~CHUNK_BYTES pieces."""
    nf = len(NODE_FIELDS)
    n_nodes, n_syn = g.node_count, len(g.syn_edges)
    n_edges = g.edge_count + sum(len(e) for e in g.syn_edges)
    head = {"meta": meta(), "node_count": n_nodes, "edge_count": n_edges, "trace_function_count": 0}
    sink('{"snapshot":' + json.dumps(head, separators=(",", ":")) + ',\n"nodes":[')
    step = 8192
    ntype, nname, nid, nsize, necount = g.ntype, g.nname, g.nid, g.nsize, g.necount
    first = True
    for a in range(0, n_nodes, step):
        b = min(n_nodes, a + step)
        rows = ["%d,%d,%d,%d,%d,0" % row for row in zip(ntype[a:b], nname[a:b], nid[a:b], nsize[a:b], necount[a:b])]
        sink(("" if first else ",\n") + ",\n".join(rows))
        first = False
    sink('],\n"edges":[')
    first = True
    syn_rows = []
    for edges in g.syn_edges:
        for et, nm, target in edges:
            syn_rows.append("%d,%d,%d" % (et, nm, target * nf))
    if syn_rows:
        sink(",\n".join(syn_rows))
        first = False
    etype, ename, eto = g.etype, g.ename, g.eto
    m = g.edge_count
    for a in range(0, m, step):
        b = min(m, a + step)
        rows = ["%d,%d,%d" % (et, nm, to * nf) for et, nm, to in zip(etype[a:b], ename[a:b], eto[a:b])]
        sink(("" if first else ",\n") + ",\n".join(rows))
        first = False
    sink('],\n"trace_function_infos":[],\n"trace_tree":[],\n"samples":[],\n"locations":[],\n"strings":[')
    strings = g.strings
    for a in range(0, len(strings), step):
        sink(("" if a == 0 else ",\n") + ",\n".join(map(_json_str, strings[a:a + step])))
    sink("]}\n")
    del n_syn


class _Buffered(object):
    def __init__(self, emit):
        self.emit = emit
        self.parts = []
        self.size = 0

    def __call__(self, text):
        self.parts.append(text)
        self.size += len(text)
        if self.size >= CHUNK_BYTES:
            self.flush()

    def flush(self):
        if self.parts:
            self.emit("".join(self.parts))
            self.parts = []
            self.size = 0


def _apply_ids(id_map, addrs, tags, next_id):
    """The snapshot's live objects become the id table (sorted arrays from the walk: no work here)."""
    id_map.addrs, id_map.tags = addrs, tags
    id_map.next_id = max(id_map.next_id, next_id)


_one_at_a_time = originals().allocate_lock()  # each fork child can hold a copy of the heap's worth


def take(agent, session, report_progress=False):
    from .cdp import CdpError
    if not _one_at_a_time.acquire(False):
        raise CdpError(-32000, "a heap snapshot is already being taken in this process (one at a time); "
                               "try again when it has finished")
    try:
        return _take(agent, session, report_progress)
    finally:
        _one_at_a_time.release()


def _take(agent, session, report_progress):
    if agent.heap_ids is None:
        agent.heap_ids = heapgraph.IdMap()
    threads = heapgraph.capture_threads(agent.agent_threads())

    def progress(done, total, finished=False):
        if report_progress:
            params = {"done": int(done), "total": int(total)}
            if finished:
                params["finished"] = True
            session.send_event("HeapProfiler.reportHeapSnapshotProgress", params)

    def chunk(text):
        session.send_event("HeapProfiler.addHeapSnapshotChunk", {"chunk": text})

    mode = os.environ.get("WORKERLENS_SNAPSHOT", "fork")
    o = originals()
    result = None
    if mode != "inprocess" and o.fork is not None:
        result = _take_forked(agent, threads, progress, chunk, session.send_event_json,
                              cancelled=lambda: session.disposed)
    if result is None:
        result = _take_in_process(agent, threads, progress, chunk)
    agent.snapshot_mode = result["mode"]
    return result


def _take_in_process(agent, threads, progress, chunk):
    t0 = time.perf_counter()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        g = heapgraph.build(threads, agent.heap_ids, progress, in_process=True)
    finally:
        if was_enabled:
            gc.enable()
    walk = time.perf_counter() - t0
    out = _Buffered(chunk)
    write_json(g, out)
    out.flush()
    addrs, tags, next_id = g.ids_out
    counts = (g.node_count, g.edge_count + sum(len(e) for e in g.syn_edges))
    del g
    _apply_ids(agent.heap_ids, addrs, tags, next_id)
    progress(counts[0], counts[0], True)
    return {"mode": "in-process", "pauseMs": round(walk * 1000.0, 3), "nodeCount": counts[0],
            "edgeCount": counts[1], "wallMs": round((time.perf_counter() - t0) * 1000.0, 3)}


def _record(tag, payload):
    return tag + struct.pack("!I", len(payload)) + payload


def _child(w, agent, threads):
    """Runs in the forked child: only this thread exists; no locks, no imports, no user code."""
    try:
        gc.disable()
        try:
            os.nice(19)  # the walk is background work: the worker's threads keep the CPU first
        except Exception:
            pass
        try:
            os.closerange(3, w)
            os.closerange(w + 1, 65536)
        except Exception:
            pass

        def write_all(data):
            view = memoryview(data)
            while view:
                n = os.write(w, view)
                view = view[n:]

        def progress(done, total):
            write_all(_record(T_PROGRESS, struct.pack("!QQ", done, total)))

        g = heapgraph.build(threads, agent.heap_ids, progress)
        # the child serialises whole CDP events: the parent only frames and forwards bytes, so the
        # worker's GIL is barely touched while a large snapshot streams
        out = _Buffered(lambda text: write_all(_record(T_CHUNK, _CHUNK_HEAD + _json_str(text).encode("ascii") + b"}}")))
        write_json(g, out)
        out.flush()
        addrs, tags, next_id = g.ids_out
        n_edges = g.edge_count + sum(len(e) for e in g.syn_edges)
        write_all(T_IDS + struct.pack("!I", 0) + struct.pack("!QQQQ", next_id, g.node_count, n_edges, len(addrs)))
        write_all(memoryview(addrs).cast("B"))
        write_all(memoryview(tags).cast("B"))
        write_all(_record(T_DONE, b""))
        os._exit(0)
    except BaseException as e:
        try:
            os.write(w, _record(T_ERROR, ("%s: %s" % (type(e).__name__, e)).encode("utf-8", "replace")[:4000]))
        finally:
            os._exit(1)


def fork_without_hooks():
    """os.fork() without running os.register_at_fork hooks (user code) in the worker or the child.

    The hook lists live in the interpreter; the agent registered one marker function in each of them
    (agent.fork_hook_lists), so gc.get_referrers finds the lists themselves. They are emptied for the
    few bytecodes around the fork (switch interval raised meanwhile, so no other thread's fork can
    fall in between) and refilled in the parent. The child only walks memory and _exit()s: it needs
    neither threading's nor logging's after-fork fix-ups."""
    from . import agent as agent_mod
    lists = agent_mod.fork_hook_lists()
    saved = [lst[:] for lst in lists]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    pid = -1
    try:
        for lst in lists:
            del lst[:]
        pid = originals().fork()
    finally:
        if pid != 0:
            for lst, items in zip(lists, saved):
                lst[:] = items
            sys.setswitchinterval(interval)
    return pid


def _take_forked(agent, threads, progress, chunk, raw_chunk=None, cancelled=lambda: False):
    r, w = os.pipe()
    t0 = time.perf_counter()
    try:
        pid = fork_without_hooks()
    except OSError:
        os.close(r)
        os.close(w)
        return None
    if pid == 0:
        os.close(r)
        _child(w, agent, threads)
    pause_ms = (time.perf_counter() - t0) * 1000.0
    os.close(w)
    del threads
    buf = b""
    done = False
    error = None
    ids = None
    counts = (0, 0)
    try:
        with os.fdopen(r, "rb", buffering=0) as f:
            def read_exact(n):
                parts = []
                while n:
                    data = f.read(min(n, 1 << 20))
                    if not data:
                        raise EOFError()
                    parts.append(data)
                    n -= len(data)
                return b"".join(parts)
            def read_array(count):
                # straight into the array's buffer: no 32 MB joins and slices while holding the GIL
                arr = array("Q", [0]) * count
                view = memoryview(arr).cast("B")
                pos = 0
                while pos < len(view):
                    n = f.readinto(view[pos:pos + (1 << 20)])
                    if not n:
                        raise EOFError()
                    pos += n
                view.release()
                return arr
            while not done:
                try:
                    tag = read_exact(1)
                    (length,) = struct.unpack("!I", read_exact(4))
                    if tag == T_IDS:
                        next_id, n_nodes, n_edges, n_ids = struct.unpack("!QQQQ", read_exact(32))
                        addrs = read_array(n_ids)
                        tags = read_array(n_ids)
                        ids = (addrs, tags, next_id)
                        counts = (n_nodes, n_edges)
                        continue
                    payload = read_exact(length)
                except EOFError:
                    break
                if tag == T_CHUNK:
                    if raw_chunk is not None:
                        raw_chunk(payload)
                    else:  # callers without a socket (tests) get the chunk text back
                        chunk(json.loads(payload.decode("ascii"))["params"]["chunk"])
                elif tag == T_PROGRESS:
                    progress(*struct.unpack("!QQ", payload))
                if cancelled():  # the client left or stopped reading (send timed out): stop the child now
                    error = "cancelled: the client went away"
                    try:
                        os.kill(pid, 9)
                    except OSError:
                        pass
                    break
                elif tag == T_DONE:
                    done = True
                elif tag == T_ERROR:
                    error = payload.decode("utf-8", "replace")
                    break
    finally:
        try:
            originals().waitpid(pid, 0)  # always reaped, cancelled or not
        except Exception:
            pass
    del buf
    if not done:
        raise RuntimeError("heap snapshot child failed: %s" % (error or "it exited early"))
    if ids is not None:
        _apply_ids(agent.heap_ids, *ids)
    progress(counts[0], counts[0], True)
    return {"mode": "fork", "pauseMs": round(pause_ms, 3), "nodeCount": counts[0], "edgeCount": counts[1],
            "wallMs": round((time.perf_counter() - t0) * 1000.0, 3)}
