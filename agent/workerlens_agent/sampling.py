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
    # drop the agent's own allocations (json of CDP messages...), wherever our frames are in the stack
    own = _own_files()
    next_id = [1]
    head = _node(next_id[0], "(root)", "", 0, 0)
    index = {}
    samples = []
    ordinal = 0
    for stat in snap.statistics("traceback"):
        if any(frame.filename in own for frame in stat.traceback):
            continue
        node = head
        path = ()
        for frame in stat.traceback:  # oldest (outermost) first since Python 3.7
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
        samples.append({"size": stat.size, "nodeId": node["id"], "ordinal": ordinal, "count": stat.count})
    return {"head": head, "samples": samples}


def _own_files():
    # Every agent module but the `run` launcher (cli.py, __main__.py), which is on every stack of a
    # script started with `python -m workerlens_agent run`; plus tracemalloc itself. (A set lookup
    # per frame: tracemalloc.Filter with all_frames costs ~0.2 ms per trace.)
    here = os.path.dirname(os.path.abspath(__file__))
    own = {os.path.join(here, f) for f in os.listdir(here) if f.endswith(".py") and f not in ("cli.py", "__main__.py")}
    own.add(tracemalloc.__file__)
    return own


def stop():
    result = profile()
    if _started_by_us[0] and tracemalloc.is_tracing():
        tracemalloc.stop()
        _started_by_us[0] = False
    return {"profile": result}


def _node(node_id, name, url, line, size):
    return {"callFrame": {"functionName": name, "scriptId": "0", "url": url, "lineNumber": line,
                          "columnNumber": 0}, "selfSize": size, "id": node_id, "children": []}
