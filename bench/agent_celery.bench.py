"""Celery task throughput with the Worker Lens agent attached but idle vs without, same run.

    /usr/bin/python3 bench/agent_celery.bench.py [TASKS=2000] [ROUNDS=3]
Goal (issue 3): <= 1 % loss. A real redis-server and `celery worker --pool prefork -c 2`; the same
worker command with and without --workerlens, alternating rounds; tasks/s = TASKS / time until a
Redis counter the task increments reaches TASKS (queue filled before the worker starts consuming).
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "test", "fixtures", "agent")
PY = "/usr/bin/python3"


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


def one_round(port, env, tasks, with_agent):
    redis_cmd(port, "FLUSHALL")
    subprocess.check_call([PY, "-c", "from bench_tasks import tick\nfor i in range(%d): tick.delay(i)" % tasks],
                          cwd=FIXTURES, env=env)
    cmd = [PY, "-m", "celery", "-A", "bench_tasks", "worker", "--pool", "prefork", "-c", "2", "-l", "error",
           "--without-heartbeat", "--without-mingle", "--without-gossip"] + (["--workerlens"] if with_agent else [])
    worker = subprocess.Popen(cmd, cwd=FIXTURES, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        while counter(port) == 0:
            time.sleep(0.005)
        t0 = time.perf_counter()
        first = counter(port)
        while counter(port) < tasks:
            time.sleep(0.01)
        return (tasks - first) / (time.perf_counter() - t0)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)


def main():
    tasks = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    port = free_port()
    rundir = tempfile.mkdtemp(prefix="wl-bench-celery-")
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "agent"), XDG_RUNTIME_DIR=rundir,
                   CELERY_BROKER_URL="redis://127.0.0.1:%d/0" % port)
        env.pop("WORKERLENS", None)
        results = {False: [], True: []}
        for r in range(rounds):
            for with_agent in ((False, True) if r % 2 == 0 else (True, False)):
                results[with_agent].append(one_round(port, env, tasks, with_agent))
        base, agent = max(results[False]), max(results[True])
        print("celery prefork -c 2, %d tasks x %d rounds (best round), load %.1f" % (tasks, rounds, os.getloadavg()[0]))
        print("  without agent: %.0f tasks/s   rounds %s" % (base, ["%.0f" % x for x in results[False]]))
        print("  agent idle:    %.0f tasks/s   rounds %s" % (agent, ["%.0f" % x for x in results[True]]))
        print("  change: %+.1f %% (goal: loss <= 1 %%)" % ((agent - base) * 100.0 / base))
    finally:
        redis.kill()
        redis.wait()
        shutil.rmtree(rundir, ignore_errors=True)


if __name__ == "__main__":
    main()
