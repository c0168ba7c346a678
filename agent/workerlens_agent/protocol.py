"""The /json/protocol descriptor: the CDP domains this agent serves, so CDP clients build their API.

Shapes mirror src/protocol/agent.ts (Python domain) and the CDP spec (Runtime, HeapProfiler).
"""

AGENT_VERSION = "0.1.0"


def _p(name, type_, optional=False, description=None, **extra):
    d = {"name": name, "type": type_}
    if optional:
        d["optional"] = True
    if description:
        d["description"] = description
    d.update(extra)
    return d


def _ref(name, ref, optional=False):
    d = {"name": name, "$ref": ref}
    if optional:
        d["optional"] = True
    return d


def descriptor():
    empty = []
    python = {
        "domain": "Python",
        "description": "Worker Lens: Python process introspection (contract: src/protocol/agent.ts).",
        "experimental": True,
        "types": [
            {"id": "ObjectCount", "type": "object", "properties": [
                _p("type", "string"), _p("module", "string"), _p("count", "integer"), _p("size", "number")]},
            {"id": "StackFrame", "type": "object", "properties": [
                _p("functionName", "string"), _p("url", "string"), _p("lineNumber", "integer")]},
            {"id": "ThreadStack", "type": "object", "properties": [
                _p("threadId", "integer"), _p("name", "string"), _p("daemon", "boolean"),
                _p("isAgent", "boolean"), _p("frames", "array", items={"$ref": "StackFrame"}),
                _p("nativeId", "integer", True), _p("framesTruncated", "boolean", True),
                _p("state", "string", True, "running | waiting | sleeping | io | idle | agent | unknown"),
                _p("stateDetail", "string", True), _p("task", "object", True, "the Celery task it runs"),
                _p("waitsOn", "object", True, "object waited on, its holders where knowable"),
                _p("holds", "array", True, "locks held, inferred from source", items={"type": "object"})]},
            {"id": "MemoryPart", "type": "object", "properties": [
                _p("key", "string"), _p("label", "string"), _p("bytes", "number", True), _p("how", "string"),
                _p("source", "string", True), _p("reason", "string", True)]},
            {"id": "TaskStat", "type": "object", "properties": [
                _p("name", "string"), _p("runs", "integer"), _p("failures", "integer"),
                _p("totalSeconds", "number"), _p("memDeltaBytes", "number"),
                _p("lastMemDeltaBytes", "number"), _p("lastRunAt", "number")]},
        ],
        "commands": [
            {"name": "enable", "description": "Start sending Python.taskEvent.", "parameters": empty, "returns": empty},
            {"name": "disable", "parameters": empty, "returns": empty},
            {"name": "getObjectCounts", "parameters": [
                _p("collect", "boolean", True, "gc.collect() first (default false)"),
                _p("limit", "integer", True, "keep the N most numerous types"),
                _p("exactSizes", "boolean", True, "exact sizes for variable-size types (slower)")],
             "returns": [_p("counts", "array", items={"$ref": "ObjectCount"}), _p("totalObjects", "integer"),
                         _p("totalSize", "number"), _p("pauseMs", "number"), _p("timestamp", "number")]},
            {"name": "getProcessInfo", "parameters": empty, "returns": [
                _p("pid", "integer"), _p("ppid", "integer"), _p("role", "string"), _p("processName", "string"),
                _p("workerName", "string", True), _p("pool", "string", True), _p("pythonVersion", "string"),
                _p("implementation", "string"), _p("executable", "string"),
                _p("argv", "array", items={"type": "string"}), _p("rssBytes", "number"),
                _p("startedAt", "number"), _p("agentVersion", "string"), _p("injected", "boolean"),
                _p("snapshotMode", "string", True)]},
            {"name": "getThreadStacks", "parameters": empty,
             "returns": [_p("threads", "array", items={"$ref": "ThreadStack"}),
                         _p("deadlocks", "array", True, "waits-for cycles", items={"type": "object"}),
                         _p("source", "string", True), _p("pauseMs", "number", True), _p("wallMs", "number", True),
                         _p("timestamp", "number", True), _p("pid", "integer", True), _p("threadCount", "integer", True)]},
            {"name": "getTaskStats", "parameters": empty, "returns": [
                _p("pool", "string", True), _p("exact", "boolean"), _p("tasks", "array", items={"$ref": "TaskStat"})]},
            {"name": "getResourceCounts", "parameters": empty, "returns": [
                _p("fds", "integer"), _p("sockets", "integer"), _p("threads", "integer"), _p("rssBytes", "number")]},
            {"name": "getMemoryBreakdown",
             "description": "Where the RSS is: gc-tracked and untracked objects, pymalloc overhead, free memory "
                            "malloc holds, native rest; each part says exact/estimated/unavailable.",
             "parameters": [
                 _p("untracked", "boolean", True, "also walk untracked objects and rank containers (slower)"),
                 _p("noArenas", "boolean", True, "skip malloc_info's per-arena figures")],
             "returns": [_p("rssBytes", "number", True), _p("process", "object"),
                         _p("parts", "array", items={"$ref": "MemoryPart"}), _p("malloc", "object"),
                         _p("pymalloc", "object"), _p("trackedObjects", "integer"),
                         _p("untracked", "object", True), _p("pid", "integer"), _p("timestamp", "number"),
                         _p("costMs", "object")]},
            {"name": "trimMemory", "description": "glibc malloc_trim(0); RSS before and after.",
             "parameters": empty, "returns": [
                 _p("trimmed", "boolean"), _p("rssBeforeBytes", "number", True), _p("rssAfterBytes", "number", True),
                 _p("releasedBytes", "number", True), _p("trimMs", "number"), _p("reason", "string", True),
                 _p("source", "string", True), _p("mallocFreeBeforeBytes", "number", True),
                 _p("mallocFreeAfterBytes", "number", True)]},
        ],
        "events": [
            {"name": "taskEvent", "parameters": [
                _p("phase", "string"), _p("name", "string"), _p("taskId", "string"),
                _p("timestamp", "number"), _p("rssBytes", "number")]},
        ],
    }
    runtime = {
        "domain": "Runtime",
        "commands": [
            {"name": "getHeapUsage", "parameters": empty,
             "returns": [_p("usedSize", "number"), _p("totalSize", "number")]},
            {"name": "enable", "parameters": empty, "returns": empty},
            {"name": "disable", "parameters": empty, "returns": empty},
            {"name": "runIfWaitingForDebugger", "parameters": empty, "returns": empty},
        ],
        "events": [],
    }
    call_frame = {"id": "SamplingHeapProfileNode", "type": "object", "properties": [
        _p("callFrame", "object"), _p("selfSize", "number"), _p("id", "integer"),
        _p("children", "array", items={"$ref": "SamplingHeapProfileNode"})]}
    heap = {
        "domain": "HeapProfiler",
        "types": [call_frame,
                  {"id": "SamplingHeapProfile", "type": "object", "properties": [
                      _ref("head", "SamplingHeapProfileNode"), _p("samples", "array", items={"type": "object"})]}],
        "commands": [
            {"name": "enable", "parameters": empty, "returns": empty},
            {"name": "disable", "parameters": empty, "returns": empty},
            {"name": "collectGarbage", "parameters": empty, "returns": empty},
            {"name": "takeHeapSnapshot", "parameters": [
                _p("reportProgress", "boolean", True), _p("treatGlobalObjectsAsRoots", "boolean", True),
                _p("captureNumericValue", "boolean", True), _p("exposeInternals", "boolean", True)],
             "returns": empty},
            {"name": "startSampling", "parameters": [
                _p("samplingInterval", "number", True), _p("stackDepth", "number", True)], "returns": empty},
            {"name": "stopSampling", "parameters": empty, "returns": [_ref("profile", "SamplingHeapProfile")]},
            {"name": "getSamplingProfile", "parameters": empty, "returns": [_ref("profile", "SamplingHeapProfile")]},
        ],
        "events": [
            {"name": "addHeapSnapshotChunk", "parameters": [_p("chunk", "string")]},
            {"name": "reportHeapSnapshotProgress", "parameters": [
                _p("done", "integer"), _p("total", "integer"), _p("finished", "boolean", True)]},
        ],
    }
    return {"version": {"major": "1", "minor": "3"}, "domains": [runtime, heap, python]}
