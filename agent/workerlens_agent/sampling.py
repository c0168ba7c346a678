"""HeapProfiler.startSampling/stopSampling/getSamplingProfile on tracemalloc (opt-in: it slows the host)."""
import os
import tracemalloc

_started_by_us = [False]


def start(params):
    depth = int(params.get("stackDepth") or 16)
    depth = max(1, min(depth, 64))
    if not tracemalloc.is_tracing():
        tracemalloc.start(depth)
        _started_by_us[0] = True
    return {}


def profile():
    if not tracemalloc.is_tracing():
        return {"head": _node(0, "(root)", "", 0, 0), "samples": []}
    snap = tracemalloc.take_snapshot()
    # drop the agent's own allocations (json of CDP messages...), wherever they are in the stack
    snap = snap.filter_traces((tracemalloc.Filter(False, tracemalloc.__file__),
                               tracemalloc.Filter(False, os.path.dirname(__file__) + os.sep + "*",
                                                  all_frames=True)))
    next_id = [1]
    head = _node(next_id[0], "(root)", "", 0, 0)
    index = {}
    samples = []
    ordinal = 0
    for stat in snap.statistics("traceback"):
        node = head
        path = ()
        for frame in reversed(stat.traceback):  # outermost first
            path = path + ((frame.filename, frame.lineno),)
            child = index.get(path)
            if child is None:
                next_id[0] += 1
                child = _node(next_id[0], "%s:%d" % (os.path.basename(frame.filename), frame.lineno),
                              frame.filename, max(0, frame.lineno - 1), 0)
                index[path] = child
                node["children"].append(child)
            node = child
        node["selfSize"] += stat.size
        ordinal += 1
        samples.append({"size": stat.size, "nodeId": node["id"], "ordinal": ordinal})
    return {"head": head, "samples": samples}


def stop():
    result = profile()
    if _started_by_us[0] and tracemalloc.is_tracing():
        tracemalloc.stop()
        _started_by_us[0] = False
    return {"profile": result}


def _node(node_id, name, url, line, size):
    return {"callFrame": {"functionName": name, "scriptId": "0", "url": url, "lineNumber": line,
                          "columnNumber": 0}, "selfSize": size, "id": node_id, "children": []}
