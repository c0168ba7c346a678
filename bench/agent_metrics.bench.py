"""/metrics scrape cost and flight-recorder refresh cost at 1M objects, same run.

    /usr/bin/python3 bench/agent_metrics.bench.py [CHILDREN=4] [SCRAPES=30]
Goal (issue 16): a scrape costs <= 20 ms of the worker's time at 1M objects. The main process holds
~1M gc-tracked objects and forks CHILDREN processes (each as big, each with its recorder writing its
report); a client process scrapes /metrics SCRAPES times. Figures: the serving thread's wall time
and CPU time (time.thread_time) per scrape, against the peer design that counts objects at scrape
time (heapcounts.object_counts at 1M, the same call the recorder makes on its own budget).
Also: the recorder's light refresh (RSS, stacks, write) and heavy refresh (counts + breakdown) and
the share of wall time its duty cycle allows.
"""
import gc
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "agent"))
from workerlens_agent import heapcounts, memoryparts, recorder, reportfiles, telemetry  # noqa: E402


class Payload(object):
    def __init__(self, i):
        self.order_id = i
        self.items = [i]


def build(n):
    out = []
    for i in range(n // 4):
        out.append(Payload(i))
        out.append({"k": i, "v": [i]})
    return out


def ms(xs):
    return "median %.2f ms, max %.2f ms" % (statistics.median(xs) * 1000, max(xs) * 1000)


def main():
    n_children = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    scrapes = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    tmp = tempfile.mkdtemp(prefix="wl-bench-metrics-")
    os.chmod(tmp, 0o700)
    os.environ["WORKERLENS_REPORTS_DIR"] = os.path.join(tmp, "reports")
    keep = build(1000000)
    n_objects = len(gc.get_objects())
    telemetry._state.update(enabled=True, main_pid=os.getpid(), lock=recorder.originals().allocate_lock(),
                            pool="prefork", worker_name="bench@localhost")
    main_rec = telemetry._new_recorder("main", "MainProcess", None)
    for i in range(3):  # a task history like a worker's
        main_rec.tasks.begin(i, "tasks.t%d" % i)
        main_rec.tasks.end(i)
    t0 = time.perf_counter()
    main_rec.refresh()
    first_heavy = time.perf_counter() - t0
    kids = []
    for idx in range(n_children):
        pid = os.fork()
        if pid == 0:
            rec = recorder.Recorder(role="child", process_name="ForkPoolWorker-%d" % (idx + 1), child_index=idx,
                                    interval=1.0)
            for j in range(40):
                rec.tasks.begin(j, "tasks.leak%d" % (j % 8))
                rec.tasks.end(j)
            rec.refresh()
            signal.pause()
            os._exit(0)
        kids.append(pid)
    # 50 last reports of exited processes (what the pruning keeps): a scrape must not read them
    import json as _json
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    sample = dict(main_rec.last, pid=dead.pid, role="child")
    for k in range(50):
        reportfiles.write_atomic(main_rec.directory, "%d-%d.json" % (dead.pid, k), _json.dumps(sample).encode())
    srv = telemetry.start_metrics("127.0.0.1:%d" % _free_port())
    deadline = time.time() + 120  # the children's first refresh counts 1M objects each: wait for their reports
    while len(reportfiles.read_all(main_rec.directory, ppid=os.getpid(), want_pid=reportfiles.alive)[0]) < n_children:
        if time.time() > deadline:
            sys.exit("the children's reports did not appear")
        time.sleep(0.2)
    wall, cpu, sizes = [], [], []
    client = subprocess.Popen([sys.executable, "-c", (
        "import socket,sys\n"
        "for _ in range(%d):\n"
        "    s=socket.create_connection(('127.0.0.1',%d)); s.sendall(b'GET /metrics HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')\n"
        "    d=b''\n"
        "    while True:\n"
        "        c=s.recv(65536)\n"
        "        if not c: break\n"
        "        d+=c\n"
        "    s.close(); print(d.split(b' ')[1].decode(), len(d), d.count(b'workerlens_process_info{'), flush=True)\n")
        % (scrapes, srv.port)], stdout=subprocess.PIPE)
    last = 0
    processes = 0
    for line in client.stdout:
        status, size, processes = line.split()
        if status != b"200":
            sys.exit("/metrics answered %s" % status.decode())
        sizes.append(int(size))
        while srv.scrapes == last:
            time.sleep(0.001)
        last = srv.scrapes
        wall.append(srv.last_seconds)
        cpu.append(srv.last_cpu_seconds)
    client.wait()
    naive = []
    for _ in range(5):
        t0 = time.perf_counter()
        heapcounts.object_counts()
        naive.append(time.perf_counter() - t0)
    light = []
    for _ in range(10):
        t0 = time.perf_counter()
        main_rec.refresh(heavy=False)
        light.append(time.perf_counter() - t0)
    heavy = []
    for _ in range(3):
        main_rec._next_counts = 0
        t0 = time.perf_counter()
        main_rec.refresh()
        heavy.append(time.perf_counter() - t0)
    hooks = []
    from workerlens_agent import taskstats
    peer = taskstats.TaskStats()
    for log in (main_rec.tasks, peer):
        t0 = time.perf_counter()
        for j in range(20000):
            log.begin(j, "tasks.tick")
            log.end(j)
        hooks.append((time.perf_counter() - t0) / 20000)
    interval = main_rec.interval
    duty_heavy_every = max(interval, statistics.median(heavy) / recorder.COUNTS_DUTY)
    share = statistics.median(light) / interval + statistics.median(heavy) / duty_heavy_every
    print("/metrics at %d gc-tracked objects, main + %d children (reports on disk, + 50 of exited processes), %d scrapes, load %.1f; "
          "breakdown %s" % (n_objects, n_children, scrapes, os.getloadavg()[0],
                            "included" if memoryparts.available() else "not in this build (RSS only)"))
    print("  scrape, serving thread wall: %s (goal <= 20 ms)" % ms(wall))
    print("  scrape, serving thread CPU:  %s; response %d bytes, %s processes in it"
          % (ms(cpu), statistics.median(sizes), processes.decode()))
    print("  peer design, count objects at scrape time: %s  (ratio %.0fx the cached scrape)"
          % (ms(naive), statistics.median(naive) / max(statistics.median(wall), 1e-9)))
    print("  recorder light refresh (RSS, stacks, atomic write): %s every %.1f s" % (ms(light), interval))
    print("  recorder heavy refresh (counts%s): %s, at most every %.0f s (first %.0f ms)"
          % (" + breakdown" if memoryparts.available() else "", ms(heavy), duty_heavy_every, first_heavy * 1000))
    print("  recorder share of wall time at 1M objects: %.2f %%" % (share * 100))
    print("  per task (prerun + postrun hooks): recorder %.1f us, the agent's TaskStats (peer, same work) %.1f us"
          % (hooks[0] * 1e6, hooks[1] * 1e6))
    for pid in kids:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    srv.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    del keep


def _free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


if __name__ == "__main__":
    main()
