"""What the Worker Lens agent costs a real Celery worker: CPU time per task, and tasks/s.

    /usr/bin/python3 bench/agent_celery.bench.py [TASKS=3000] [ROUNDS=7] [POOLS=solo,prefork]
Goal (issues 3, 11 and 16): the agent with its flight recorder costs <= 1 % of a worker's
throughput, idle and with the Heap and Tasks views refreshing (bench/uipoll.py). A real redis-server and `celery worker
--pool solo` / `--pool prefork -c 2`, the same command in each mode:
  without agent | --workerlens with WORKERLENS_RECORDER=0 (agent, no flight recorder) |
  --workerlens (agent + flight recorder, the default) | the same + the views refreshing
(what the Heap and Tasks views ask every agent of the worker on each refresh: bench/uipoll.py). The queue is filled before the worker starts; the measure runs from the task WARMUP
(10 % of them) to the last: the worker's start-up — and the agent's and the recorder's first
object count and breakdown, made once when they start — stay outside, steady state inside (the
recorder's later counts, spaced to <= 0.5 % of wall time, and its refreshes every 5 s are in).

The main figure is CPU time per task: the run time of every thread of the worker's processes (main
and pool children: the agent's and the recorder's threads count) from /proc/PID/task/TID/schedstat
(nanoseconds; /proc/PID/stat's 10 ms ticks where schedstat is missing), between the
first and the last task. The machine is shared, so wall-clock tasks/s vary several-fold between
rounds while CPU time per task does not (another process's load delays the worker but does not
add to its CPU time). Modes are interleaved in rotating order (A B C D, B C D A, ...); per mode
the best (least CPU per task: noise only ever adds), median and spread of the rounds, and the
ratio to "without agent" as the ratio of bests (the goal's "best of several rounds"), of medians,
and as the median of each round's own ratio (adjacent runs, so drift cancels).
"""
import glob
import json
import threading
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "test", "fixtures", "agent")
PY = "/usr/bin/python3"
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def redis_cmd(port, *args):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(("*%d\r\n" % len(args) + "".join("$%d\r\n%s\r\n" % (len(a), a) for a in args)).encode())
    data = s.recv(1024)
    s.close()
    return data


def counter(port):
    data = redis_cmd(port, "GET", "wl-bench-ticks")
    return 0 if data.startswith(b"$-1") else int(data.split(b"\r\n")[1])


def stat_of(pid):
    """(ppid, utime + stime in seconds) from /proc/PID/stat; the name may hold spaces and ')'."""
    with open("/proc/%d/stat" % pid, "rb") as f:
        rest = f.read().rsplit(b")", 1)[1].split()
    return int(rest[1]), (int(rest[11]) + int(rest[12])) / float(TICK)


def ns_cpu(pid):
    """CPU seconds of every thread of pid, in nanoseconds from /proc/PID/task/TID/schedstat (the
    scheduler's own run time: ticks in /proc/PID/stat are 10 ms, 0.5 % of a 3,000-task round);
    None where schedstat is not there (kernel without schedstats)."""
    total = 0
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return None
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total / 1e9


def cpu_of(pid):
    ns = ns_cpu(pid)
    return ns if ns is not None else stat_of(pid)[1]


def tree_cpu(main_pid):
    """{pid: CPU seconds} of the worker's main process and its children (the pool). Threads that
    end between the two reads are not counted (the worker's and the agent's threads live on)."""
    out = {main_pid: cpu_of(main_pid)}
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) != main_pid:
            try:
                ppid, _cpu = stat_of(int(d))
            except (OSError, IndexError, ValueError):
                continue
            if ppid == main_pid:
                out[int(d)] = cpu_of(int(d))
    return out


def poll_agents(rundir, pids, stop):
    """What the Heap and Tasks views ask, as often as they ask it (bench/uipoll.py), of every agent
    of this worker (main process and children: more than the UI, which refreshes the one attached)."""
    sys.path.insert(0, os.path.join(ROOT, "agent"))
    from workerlens_agent import client
    import uipoll
    pollers = {}  # discovery path -> (the UI's refresh state for that agent, its connection, next refresh at)
    while not stop.wait(0.1):
        for path in glob.glob(os.path.join(rundir, "workerlens", "*.json")):
            p = pollers.get(path)
            if p is not None and time.time() < p[2]:
                continue
            try:
                if p is None:
                    with open(path) as f:
                        info = json.load(f)
                    if info.get("pid") not in pids() and info.get("ppid") not in pids():
                        continue
                    p = pollers[path] = [uipoll.Poller(), client.connect(info, timeout=5), 0.0]
                p[2] = time.time() + p[0].poll(p[1])
            except Exception:
                pollers[path] = [uipoll.Poller(), None, time.time() + 3600]  # gone (a recycled child)
    for p in pollers.values():
        try:
            if p[1] is not None:
                p[1].close()
        except Exception:
            pass


def one_round(port, env, tasks, mode, pool, rundir):
    """(tasks/s wall, CPU seconds per task) of one worker run in this mode."""
    redis_cmd(port, "FLUSHALL")
    subprocess.check_call([PY, "-c", "from bench_tasks import tick\nfor i in range(%d): tick.delay(i)" % tasks],
                          cwd=FIXTURES, env=env)
    pool_args = ["--pool", "solo"] if pool == "solo" else ["--pool", "prefork", "-c", "2"]
    cmd = [PY, "-m", "celery", "-A", "bench_tasks", "worker"] + pool_args + ["-l", "error",
           "--without-heartbeat", "--without-mingle", "--without-gossip"] + (["--workerlens"] if mode["agent"] else [])
    run_env = dict(env)
    if not mode["recorder"]:
        run_env["WORKERLENS_RECORDER"] = "0"
    worker = subprocess.Popen(cmd, cwd=FIXTURES, env=run_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    stop = threading.Event()
    if mode["polling"]:
        threading.Thread(target=poll_agents, args=(rundir, lambda: {worker.pid}, stop), daemon=True).start()
    try:
        warmup = max(1, tasks // 10)
        while counter(port) < warmup:
            time.sleep(0.005)
        t0 = time.perf_counter()
        cpu0 = tree_cpu(worker.pid)
        first = counter(port)
        while counter(port) < tasks:
            time.sleep(0.01)
        cpu1 = tree_cpu(worker.pid)
        wall = time.perf_counter() - t0
        done = tasks - first
        # processes present at both reads (no child is recycled in this bench)
        cpu = sum(cpu1[p] - cpu0[p] for p in cpu1 if p in cpu0)
        return done / wall, cpu / done
    finally:
        stop.set()
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:  # a warm shutdown can drag on a loaded machine; not what is measured
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(30)


MODES = [
    {"name": "without agent", "agent": False, "recorder": False, "polling": False},
    {"name": "agent, recorder off", "agent": True, "recorder": False, "polling": False},
    {"name": "agent + flight recorder", "agent": True, "recorder": True, "polling": False},
    {"name": "  + the views refreshing", "agent": True, "recorder": True, "polling": True},
]


def spread(xs):
    return "%.0f–%.0f" % (min(xs), max(xs))


def main():
    tasks = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    pools = (sys.argv[3] if len(sys.argv) > 3 else "solo,prefork").split(",")
    port = free_port()
    rundir = tempfile.mkdtemp(prefix="wl-bench-celery-")
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "agent"), XDG_RUNTIME_DIR=rundir,
                   CELERY_BROKER_URL="redis://127.0.0.1:%d/0" % port)
        for k in ("WORKERLENS", "WORKERLENS_RECORDER", "WORKERLENS_RECORDER_COUNTS", "WORKERLENS_METRICS"):
            env.pop(k, None)
        for pool in pools:
            load0 = os.getloadavg()
            res = dict((m["name"], []) for m in MODES)  # [(tasks/s, cpu s/task)] in round order
            n = len(MODES)
            for r in range(rounds):
                for m in MODES[r % n:] + MODES[:r % n]:
                    res[m["name"]].append(one_round(port, env, tasks, m, pool, rundir))
            load1 = os.getloadavg()
            base = res["without agent"]
            base_cpu = statistics.median(c for _w, c in base)
            print("celery %s, %d tasks x %d rounds, modes interleaved; load average %.1f / %.1f / %.1f at start, %.1f at end"
                  % ("solo" if pool == "solo" else "prefork -c 2", tasks, rounds, load0[0], load0[1], load0[2], load1[0]))
            base_best = min(c for _w, c in base)
            print("  CPU time per task (every thread of the worker main + pool children), best / median [spread]; goal: <= +1 %")
            for m in MODES:
                xs = res[m["name"]]
                cpu_us = [c * 1e6 for _w, c in xs]
                line = "  %-28s %6.1f / %6.1f us/task [%s]" % (m["name"] + ":", min(cpu_us), statistics.median(cpu_us), spread(cpu_us))
                if m["name"] != "without agent":
                    per_round = [c / b for (_w, c), (_bw, b) in zip(xs, base)]
                    line += "   best x%.3f (%+.1f %%), x%.3f of medians (%+.1f %%), per-round ratio median x%.3f [%.3f–%.3f]" % (
                        min(c for _w, c in xs) / base_best, (min(c for _w, c in xs) / base_best - 1) * 100.0,
                        statistics.median(c for _w, c in xs) / base_cpu,
                        (statistics.median(c for _w, c in xs) / base_cpu - 1) * 100.0,
                        statistics.median(per_round), min(per_round), max(per_round))
                print(line)
            print("  wall-clock tasks/s (varies with the machine's load), best / median [spread]")
            base_w = max(w for w, _c in base)
            for m in MODES:
                ws = [w for w, _c in res[m["name"]]]
                line = "  %-28s %6.0f / %6.0f tasks/s [%s]" % (m["name"] + ":", max(ws), statistics.median(ws), spread(ws))
                if m["name"] != "without agent":
                    line += "   best x%.3f" % (max(ws) / base_w)
                print(line)
    finally:
        redis.kill()
        redis.wait()
        shutil.rmtree(rundir, ignore_errors=True)


if __name__ == "__main__":
    main()
