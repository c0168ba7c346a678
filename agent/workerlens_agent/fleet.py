"""Fleet: every Celery worker on the user's broker answers for itself and its pool children.

Worker side: `register()` adds the remote-control command `workerlens_fleet` to Celery's own
registry (celery.worker.control.Panel). Celery runs it in each worker's MAIN process; the main asks
every pool child's agent over loopback (token from its discovery file), in parallel, within a
bounded budget, and replies with one bounded JSON-able dict. Agents stay bound to loopback.

Client side: `python -m workerlens_agent fleet --broker URL` uses the user's own Celery/kombu
(`app.control.broadcast(..., reply=True)`) and prints JSON lines (contract: src/protocol/fleet.ts).
No broker protocol is spoken here.
"""
import json
import os
import socket
import sys
import time

from . import discovery
from ._compat import originals
from .procinfo import python_version
from .protocol import AGENT_VERSION

COMMAND = "workerlens_fleet"
FLEET_VERSION = 1
MAX_REPLY_BYTES = 64 * 1024
MAX_PROCESSES = 64
MAX_TASKS = 20
MAX_GROWTH = 5
TREND_POINTS = 24
COUNTS_EVERY_S = 60.0  # per-type counts cost ~40 ms per idle process: at most once a minute each
DEFAULT_BUDGET_S = 0.8

# Per-process memory of earlier looks (main process only): pid -> dict. Bounded: pids of processes
# that are gone are dropped on each answer.
_seen = {}


# -- worker side ---------------------------------------------------------------------------------
def register():
    """Registers the control command (idempotent; Celery's registry is a process-global dict)."""
    from celery.worker.control import control_command
    control_command(name=COMMAND, args=[("attach", bool), ("counts", bool), ("budget", float), ("countsEvery", float)],
                    signature="[attach=False] [counts=True] [budget=%.1f]" % DEFAULT_BUDGET_S,
                    help="Worker Lens: memory of this worker and its pool children")(_control)


def _control(state, attach=False, counts=True, budget=None, countsEvery=None, **_ignored):
    try:
        return answer(state, attach=attach is True, counts=counts is not False, budget=budget, counts_every=countsEvery)
    except Exception as e:  # never raise into Celery's pidbox
        return {"workerlens": FLEET_VERSION, "agentVersion": AGENT_VERSION, "error": "fleet answer failed: %s" % _clip(e)}


def _clip(value, n=200):
    try:
        s = str(value) if isinstance(value, (str, int, float)) else type(value).__name__ + ": " + str(value.args[:1])
    except Exception:
        s = "?"
    return s[:n]


def _rss(pid):
    try:
        with open("/proc/%d/statm" % pid, "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except Exception:
        return None


def _pool_facts(controller):
    """(kind, concurrency, child pids, maxTasksPerChild, maxMemoryPerChildKb) from the WorkController."""
    from .celery import pool_kind
    kind = pool_kind(getattr(controller, "pool_cls", None) or "") if controller is not None else None
    concurrency = getattr(controller, "concurrency", None)
    pids = []
    try:
        procs = controller.pool._pool._pool  # prefork (billiard): the live pool processes
        pids = [int(p.pid) for p in list(procs) if getattr(p, "pid", None)]
    except Exception:
        pids = []
    max_tasks = getattr(controller, "max_tasks_per_child", None)
    max_mem = getattr(controller, "max_memory_per_child", None)
    return (kind, concurrency if isinstance(concurrency, int) else None, pids,
            max_tasks if isinstance(max_tasks, int) else None, max_mem if isinstance(max_mem, int) else None)


def _children_from_discovery(main_pid):
    out = []
    try:
        names = os.listdir(discovery.discovery_dir())
    except OSError:
        return out
    for name in names:
        if name.endswith(".json") and name[:-5].isdigit():
            d = discovery.read(int(name[:-5]))
            if d and d.get("ppid") == main_pid and d.get("pid") != main_pid:
                out.append(int(d["pid"]))
    return out


def answer(state, attach=False, counts=True, budget=None, counts_every=None):
    t0 = time.time()
    consumer = getattr(state, "consumer", None)
    controller = getattr(consumer, "controller", None)
    main_pid = os.getpid()
    kind, concurrency, child_pids, max_tasks, max_mem = _pool_facts(controller)
    if kind == "prefork" and not child_pids:
        child_pids = _children_from_discovery(main_pid)
    try:
        budget = min(5.0, max(0.1, float(budget))) if budget is not None else DEFAULT_BUDGET_S
    except (TypeError, ValueError):
        budget = DEFAULT_BUDGET_S
    try:
        counts_every = max(0.5, float(counts_every)) if counts_every is not None else COUNTS_EVERY_S
    except (TypeError, ValueError):
        counts_every = COUNTS_EVERY_S
    deadline = t0 + budget
    targets = [(main_pid, "main")] + [(p, "child") for p in sorted(set(child_pids)) if p != main_pid]
    targets = targets[:MAX_PROCESSES]
    results = _probe_all(targets, attach, counts, counts_every, deadline)
    for pid in list(_seen):
        if pid not in results:
            del _seen[pid]
    try:
        import celery
        celery_version = str(celery.__version__)
    except Exception:
        celery_version = None
    reply = {
        "workerlens": FLEET_VERSION, "agentVersion": AGENT_VERSION,
        "node": str(getattr(controller, "hostname", None) or getattr(consumer, "hostname", "") or ""),
        "host": socket.gethostname(), "pid": main_pid, "python": python_version(), "celery": celery_version,
        "pool": kind, "concurrency": concurrency, "maxTasksPerChild": max_tasks, "maxMemoryPerChildKb": max_mem,
        "at": time.time(), "processes": [results[pid] for pid, _ in targets], "truncated": len(child_pids) + 1 > MAX_PROCESSES,
    }
    reply["elapsedMs"] = int((time.time() - t0) * 1000)
    return _bounded(reply)


def _bounded(reply):
    """Drops detail (breakdown, then tasks and growth, then trends) until the reply fits."""
    steps = [("breakdown", None), ("tasks", 5), ("growth", 2), ("trend", 4), ("tasks", 0), ("growth", 0), ("trend", 0)]
    for key, keep in [(None, None)] + steps:
        if key is not None:
            reply["truncated"] = True
            for p in reply["processes"]:
                if key in p and p[key] is not None:
                    p[key] = None if keep is None else p[key][:keep]
        if len(json.dumps(reply)) <= MAX_REPLY_BYTES:
            return reply
    reply["processes"] = reply["processes"][:8]
    return reply


def _probe_all(targets, attach, counts, counts_every, deadline):
    lock = originals().allocate_lock()
    results = {}

    def run(pid, role):
        r = {"pid": pid, "role": role, "rssBytes": _rss(pid), "processName": "MainProcess" if role == "main" else None,
             "agentPort": None, "agentVersion": None, "tasks": None, "growth": None, "countsAt": None,
             "breakdown": None, "error": None}
        try:
            r.update(_remember(pid, r["rssBytes"]))
            _probe(r, attach, counts, counts_every, deadline)
        except Exception as e:  # what was read before the failure stays
            r["error"] = "its agent: %s" % _clip(e)
        with lock:
            results[pid] = r
    for pid, role in targets:
        originals().start_new_thread(run, (pid, role))
    sleep = originals().sleep
    while time.time() < deadline + 0.05:
        with lock:
            if len(results) == len(targets):
                break
        sleep(0.005)
    with lock:
        out = dict(results)
    for pid, role in targets:
        if pid not in out:
            out[pid] = {"pid": pid, "role": role, "rssBytes": _rss(pid), "error": "its agent did not answer in time"}
    return out


def _remember(pid, rss):
    now = time.time()
    seen = _seen.get(pid)
    if seen is None:
        seen = _seen[pid] = {"firstRss": rss, "firstAt": now, "trend": [], "baseCounts": None, "counts": None,
                             "countsAt": None}
    if rss is not None:
        seen["trend"].append(rss)
        del seen["trend"][:-TREND_POINTS]
        if seen["firstRss"] is None:
            seen["firstRss"], seen["firstAt"] = rss, now
    return {"rssFirstBytes": seen["firstRss"], "rssFirstAt": seen["firstAt"], "trend": list(seen["trend"])}


def _probe(out, attach, counts, counts_every, deadline):
    pid = out["pid"]
    d = discovery.read(pid)
    if not d or not isinstance(d.get("port"), int) or not isinstance(d.get("token"), str):
        out["error"] = "no Worker Lens agent in this process (start the worker with --workerlens or WORKERLENS=1)"
        return
    out["processName"] = str(d.get("processName") or out["processName"] or "")[:80]
    out["agentPort"] = d["port"]
    out["agentVersion"] = str(d.get("agentVersion") or "")[:20] or None
    if attach:
        out["token"] = d["token"]
    from .client import CdpClient
    remaining = deadline - time.time()
    if remaining <= 0:
        out["error"] = "no time left to ask its agent"
        return
    c = CdpClient(d.get("host") or "127.0.0.1", d["port"], d["token"], timeout=remaining)
    try:
        c.sock.settimeout(max(0.05, deadline - time.time()))
        stats = c.call("Python.getTaskStats")
        out["tasks"] = _tasks(stats)
        seen = _seen[pid]
        due = seen["countsAt"] is None or time.time() - seen["countsAt"] >= counts_every
        if counts and due:
            c.sock.settimeout(max(0.05, deadline - time.time()))
            rows = c.call("Python.getObjectCounts").get("counts") or []
            now = {}
            for r in rows:
                if isinstance(r, dict) and isinstance(r.get("count"), int):
                    now[(str(r.get("module")), str(r.get("type")))] = (r["count"], r.get("size") or 0)
            if seen["baseCounts"] is None:
                seen["baseCounts"] = now
            seen["counts"], seen["countsAt"] = now, time.time()
        if seen["counts"] is not None:
            out["growth"] = _with_paths(_growth(seen["baseCounts"], seen["counts"]), pid)
            out["countsAt"] = seen["countsAt"]
            out["countsBaseAt"] = seen["firstAt"]
        out["breakdown"] = _breakdown(c, deadline)
    finally:
        c.close()


def _tasks(stats):
    rows = []
    for t in (stats or {}).get("tasks") or []:
        if isinstance(t, dict) and isinstance(t.get("name"), str):
            rows.append({"name": t["name"][:120], "runs": int(t.get("runs") or 0),
                         "memDeltaBytes": int(t.get("memDeltaBytes") or 0),
                         "lastMemDeltaBytes": int(t.get("lastMemDeltaBytes") or 0),
                         # RSS is read on a sample of runs: memDeltaBytes sums those runs only
                         "memSampledRuns": int(t.get("memSampledRuns") or 0)})
    rows.sort(key=lambda r: -abs(r["memDeltaBytes"]))
    return rows[:MAX_TASKS]


def _growth(base, now):
    rows = []
    for key, (count, size) in now.items():
        b_count, b_size = base.get(key, (0, 0))
        if count > b_count:
            rows.append({"module": key[0][:80], "type": key[1][:80], "count": count, "delta": count - b_count,
                         "sizeDelta": int(size - b_size)})
    rows.sort(key=lambda r: (-r["delta"], r["type"]))
    return rows[:MAX_GROWTH]


def _with_paths(rows, pid):
    """The retainer path the process's flight recorder found for each growing type (typepaths.py),
    read from its latest report file: nothing is searched for the fleet (a path search costs up to
    0.5 s of the worker; the recorder spaces them within its duty budget)."""
    if not rows:
        return rows
    try:
        from . import reportfiles
        from .typepaths import type_name
        reports, _notes = reportfiles.read_all(reportfiles.reports_dir(), want_pid=lambda p: p == pid)
        live = [r for r in reports if r.get("pid") == pid and not r.get("exit")]
        if not live:
            return rows
        latest = max(live, key=lambda r: r.get("updatedAt") or 0)
        found = {}
        for g in ((latest.get("objects") or {}).get("growing") or [])[:10]:
            if isinstance(g, dict) and isinstance(g.get("type"), str):
                found[g["type"]] = g
        for r in rows:
            g = found.get(type_name(r["module"], r["type"]))  # the name the recorder's report uses
            if g is None:
                continue
            if isinstance(g.get("pathText"), str):
                r["path"] = g["pathText"][:300]
                r["pathHow"] = str(g.get("pathHow") or "")[:200]
            elif isinstance(g.get("pathNote"), str):
                r["pathNote"] = g["pathNote"][:200]
    except Exception:  # a report being replaced, unreadable: the rows without paths
        pass
    return rows


def _breakdown(c, deadline):
    """Adapter to Python.getMemoryBreakdown (newer agents): its parts, or None when the agent has none."""
    if deadline - time.time() < 0.05:
        return None
    try:
        c.sock.settimeout(max(0.05, deadline - time.time()))
        b = c.call("Python.getMemoryBreakdown", {"noArenas": True})
    except RuntimeError:  # older agent: method not found
        return None
    parts = []
    for p in (b or {}).get("parts") or []:
        if isinstance(p, dict) and isinstance(p.get("key"), str):
            parts.append({"key": p["key"][:40], "label": str(p.get("label") or "")[:80],
                          "bytes": p["bytes"] if isinstance(p.get("bytes"), int) else None,
                          "how": str(p.get("how") or "")[:20]})
    return parts[:12] or None


# -- client side ---------------------------------------------------------------------------------
CLIENT_USAGE = """usage: python -m workerlens_agent fleet [--broker URL] [--timeout SECONDS] [--budget SECONDS]
                                       [--attach] [--no-counts] [--counts-every SECONDS] [--expect N]
  --expect N: stop waiting once N replies came (Celery's broadcast limit; a worker beyond N is missed,
  so refresh without it now and then).
  Asks every Celery worker on the broker for its Worker Lens fleet reply; prints JSON lines.
  The broker URL may also come from $WORKERLENS_BROKER_URL (keeps a password out of the process list).
"""


def redact(url):
    """The URL with its password replaced by ***: the only form ever printed."""
    try:
        scheme, sep, rest = url.partition("://")
        if not sep:
            return url
        auth, at, hostpart = rest.rpartition("@")
        if not at or ":" not in auth:
            return url
        user = auth.split(":", 1)[0]
        return "%s://%s:***@%s" % (scheme, user, hostpart)
    except Exception:
        return "<broker URL>"


def _emit(obj, out):
    out.write(json.dumps(obj, sort_keys=True) + "\n")
    out.flush()


def _classify(exc):
    text = ("%s %s" % (type(exc).__name__, exc)).lower()
    for word in ("auth", "password", "access_refused", "access refused", "wrongpass", "login"):
        if word in text:
            return "broker-auth"
    return "broker-unreachable"


def _parse_args(args):
    opts = {"broker": None, "timeout": 1.0, "budget": None, "attach": False, "counts": True, "counts-every": COUNTS_EVERY_S,
            "expect": None}
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("--broker", "--timeout", "--budget", "--counts-every", "--expect"):
            if i + 1 >= len(args):
                raise ValueError("%s needs a value" % a)
            v = args[i + 1]
            i += 2
            if a == "--broker":
                opts["broker"] = v
            elif a == "--expect":
                if not v.isdigit() or int(v) < 1:
                    raise ValueError("--expect must be a positive number of replies, not %r" % v)
                opts["expect"] = int(v)
            else:
                try:
                    f = float(v)
                except ValueError:
                    raise ValueError("%s must be a number of seconds, not %r" % (a, v))
                if not 0.1 <= f <= (86400 if a == "--counts-every" else 60):
                    raise ValueError("%s must be between 0.1 and %s seconds" % (a, 86400 if a == "--counts-every" else 60))
                opts[a[2:]] = f
            continue
        if a == "--attach":
            opts["attach"] = True
        elif a == "--no-counts":
            opts["counts"] = False
        else:
            raise ValueError("unknown option %r" % a)
        i += 1
    if not opts["broker"]:
        opts["broker"] = os.environ.get("WORKERLENS_BROKER_URL") or None
    if not opts["broker"]:
        raise ValueError("no broker: pass --broker URL or set WORKERLENS_BROKER_URL")
    if opts["budget"] is None:
        opts["budget"] = min(DEFAULT_BUDGET_S, opts["timeout"] * 0.8)
    return opts


def validate(node, reply):
    """(status, reason) for one node's reply: 'ok' or 'unknown' (garbage, an older or newer agent)."""
    if not isinstance(reply, dict):
        return "unknown", "replied %s, not a Worker Lens fleet reply" % type(reply).__name__
    if "workerlens" not in reply:
        err = reply.get("error")
        if isinstance(err, str) and (COMMAND in err or "KeyError" in err or "No such" in err):
            return "unknown", ("no Worker Lens fleet command on this worker: call workerlens_agent.celery.install(app) "
                               "in its app, or start it with WORKERLENS=1 and the autostart hook")
        return "unknown", "replied something that is not a Worker Lens fleet reply"
    if reply.get("workerlens") != FLEET_VERSION:
        return "unknown", "fleet reply version %s (this client reads %d): agent %s" % (
            _clip(reply.get("workerlens"), 10), FLEET_VERSION, _clip(reply.get("agentVersion"), 20))
    if isinstance(reply.get("error"), str):
        return "unknown", reply["error"][:300]
    if not isinstance(reply.get("processes"), list):
        return "unknown", "fleet reply without a process list"
    return "ok", None


def client_main(args, out=None, requests=None):
    """One refresh, or with --serve one per JSON line read from stdin ({"expect": N, "attach": bool})."""
    out = out or sys.stdout
    serve = "--serve" in args
    args = [a for a in args if a != "--serve"]
    try:
        opts = _parse_args(args)
    except ValueError as e:
        _emit({"type": "error", "code": "usage", "message": str(e)}, out)
        sys.stderr.write(CLIENT_USAGE)
        return 2
    try:
        from celery import Celery
    except Exception as e:
        _emit({"type": "error", "code": "no-celery", "message": "%s cannot import celery (%s): set workerLens.fleet.python "
               "to the interpreter of your workers' environment" % (sys.executable, _clip(e))}, out)
        return 1
    app = Celery("workerlens-fleet", broker=opts["broker"], set_as_current=False)
    app.conf.broker_connection_timeout = max(1.0, opts["timeout"])
    app.conf.broker_connection_retry = False
    conns = [None, None]
    try:
        if not serve:
            return _refresh(app, conns, opts, out)
        for line in (requests if requests is not None else sys.stdin):
            try:
                req = json.loads(line)
            except ValueError:
                req = None
            if not isinstance(req, dict):
                _emit({"type": "error", "code": "usage", "message": "a --serve request is one JSON object per line"}, out)
                continue
            o = dict(opts)
            if isinstance(req.get("expect"), int) and req["expect"] > 0:
                o["expect"] = req["expect"]
            else:
                o["expect"] = None
            o["attach"] = req.get("attach") is True
            _refresh(app, conns, o, out)
        return 0
    finally:
        for c in conns:
            try:
                if c is not None:
                    c.release()
            except Exception:
                pass


def _refresh(app, conns, opts, out):
    shown = redact(opts["broker"])
    t0 = time.time()
    try:
        for k in (0, 1):
            if conns[k] is None:
                conns[k] = app.connection_for_write()
            conns[k].ensure_connection(max_retries=1, timeout=max(1.0, opts["timeout"]))
            conns[k].default_channel  # noqa: B018  (redis: AUTH happens here)
    except Exception as e:
        for k in (0, 1):  # reconnect from scratch at the next request
            try:
                if conns[k] is not None:
                    conns[k].release()
            except Exception:
                pass
            conns[k] = None
        _emit({"type": "error", "code": _classify(e), "broker": shown,
               "message": "cannot reach the broker %s: %s" % (shown, _clip(e, 300).replace(opts["broker"], shown))}, out)
        return 1
    conn, ping_conn = conns
    pinged = {}

    def ping():
        try:
            for r in app.control.broadcast("ping", reply=True, timeout=opts["timeout"], connection=ping_conn,
                                           limit=opts["expect"]) or []:
                if isinstance(r, dict):
                    for node in r:
                        pinged[node] = pinged.get(node, 0) + 1
        except Exception:
            pass
    import threading
    pinger = threading.Thread(target=ping, daemon=True)
    pinger.start()
    try:
        replies = app.control.broadcast(COMMAND, arguments={"attach": opts["attach"], "counts": opts["counts"],
                                                            "budget": opts["budget"],
                                                            "countsEvery": opts["counts-every"]},
                                        reply=True, timeout=opts["timeout"], connection=conn, limit=opts["expect"]) or []
    except Exception as e:
        conns[0] = None
        _emit({"type": "error", "code": _classify(e), "broker": shown,
               "message": "the broker %s failed during the refresh: %s" % (shown, _clip(e, 300).replace(opts["broker"], shown))}, out)
        return 1
    pinger.join(opts["timeout"] + 2)
    entries = []
    for r in replies:
        if isinstance(r, dict):
            entries.extend(r.items())
    names = {}
    for node, _ in entries:
        names[node] = names.get(node, 0) + 1
    for node, n in pinged.items():  # two workers with one name: ping tells even when only one ran the command
        names[node] = max(names.get(node, 0), n)
    for node, reply in entries:
        status, reason = validate(node, reply)
        line = {"type": "worker", "node": str(node)[:200], "status": status, "duplicate": names.get(node, 0) > 1}
        if status == "ok":
            line["reply"] = reply
        else:
            line["reason"] = reason
        _emit(line, out)
    answered = set(n for n, _ in entries)
    for node in sorted(pinged):
        if node not in answered:
            _emit({"type": "worker", "node": str(node)[:200], "status": "no-answer", "duplicate": names.get(node, 0) > 1,
                   "reason": "answered ping but not the fleet command within %.1f s" % opts["timeout"]}, out)
    _emit({"type": "done", "broker": shown, "workers": len(answered | set(pinged)), "replies": len(entries),
           "timeoutS": opts["timeout"], "elapsedMs": int((time.time() - t0) * 1000)}, out)
    return 0
