"""Fleet refresh at scale: N real Celery prefork workers (2 children each, --workerlens) on one
real redis-server; wall time of `python -m workerlens_agent fleet` (what the Fleet view and
`workerlens fleet` run) against Celery's own `inspect stats` over the same fleet, same run.

    /usr/bin/python3 bench/fleet.bench.py [WORKERS=30] [ROUNDS=3]
Goal (issue 15): a refresh of >= 30 workers in <= 2 s wall. The wall includes the helper's Python
start and Celery import, the broadcast, the workers' answers, and the broadcast timeout (1 s after
the last reply: Celery waits that long for stragglers). Per-type counts run on the first refresh
and then at most once a minute per process, so round 1 and the later rounds are shown apart.
"""
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "test", "fixtures", "fleet"))
import fleet_env  # noqa: E402

PY = "/usr/bin/python3"


def run(args, env):
    t0 = time.time()
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=120)
    return time.time() - t0, p


def main(argv):
    n = int(argv[0]) if argv else 30
    rounds = int(argv[1]) if len(argv) > 1 else 3
    try:
        import celery  # noqa: F401
    except ImportError:
        print("fleet: skipped (needs %s with celery)" % PY)
        return 0
    env = fleet_env.FleetEnv(hosts=0, local=n, concurrency=2)
    t0 = time.time()
    try:
        env.up(timeout=600)
    except Exception as e:
        print("fleet: could not start %d workers on this machine: %s" % (n, e))
        env.down()
        return 0
    started = time.time() - t0
    procs = sum(1 + w["children"] for w in env.workers)
    print("fleet: %d workers (%d processes) up in %.1f s" % (n, procs, started))
    penv = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "agent"), PYTHONDONTWRITEBYTECODE="1",
                WORKERLENS_BROKER_URL=env.broker)
    try:
        code = ("import os,time\nfrom celery import Celery\napp=Celery(broker=os.environ['WORKERLENS_BROKER_URL'])\n"
                "t=time.time()\nwhile len(app.control.ping(timeout=1) or []) < %d and time.time() < t + 120: pass\n" % n)
        run([PY, "-c", code], penv)  # every worker's remote control is up (it starts after the agents)
        print("fleet: every worker answers ping")
        for r in range(rounds * 2):
            expect = r >= rounds
            args = [PY, "-m", "workerlens_agent", "fleet", "--timeout", "1"] + (["--expect", str(n)] if expect else [])
            wall, p = run(args, penv)
            lines = [json.loads(x) for x in p.stdout.decode().splitlines() if x.strip()]
            done = lines[-1] if lines else {}
            ok = sum(1 for x in lines if x.get("type") == "worker" and x.get("status") == "ok")
            answered = sum(1 for x in lines if x.get("type") == "worker" for pr in (x.get("reply") or {}).get("processes", [])
                           if not pr.get("error"))
            slowest = max([x["reply"]["elapsedMs"] for x in lines if x.get("status") == "ok"] or [0])
            print("fleet: refresh %d (%s): %.2f s wall, %d/%d workers ok, %d/%d processes answered, slowest worker answer %d ms, "
                  "helper's own figure %d ms" % (r + 1, ("--expect %d, " % n if expect else "") + ("with per-type counts" if r == 0 else "counts cached"), wall, ok, n,
                                                 answered, procs, slowest, done.get("elapsedMs", -1)))
        # The Fleet view's way: one long-lived helper (--serve), a request per refresh.
        helper = subprocess.Popen([PY, "-m", "workerlens_agent", "fleet", "--serve", "--timeout", "1"], env=penv,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            for r in range(rounds * 2):
                expect = n if r >= rounds else None
                t = time.time()
                helper.stdin.write((json.dumps({"expect": expect}) + "\n").encode())
                helper.stdin.flush()
                ok = answered = 0
                while True:
                    x = json.loads(helper.stdout.readline())
                    if x.get("type") == "worker" and x.get("status") == "ok":
                        ok += 1
                        answered += sum(1 for pr in x["reply"]["processes"] if not pr.get("error"))
                    if x.get("type") in ("done", "error"):
                        break
                print("fleet: view refresh %d (long-lived helper%s): %.2f s wall, %d/%d workers ok, %d/%d processes answered"
                      % (r + 1, ", --expect %d" % n if expect else "", time.time() - t, ok, n, answered, procs))
        finally:
            helper.stdin.close()
            helper.wait(10)
        code = ("import os,time\nfrom celery import Celery\napp=Celery(broker=os.environ['WORKERLENS_BROKER_URL'])\n"
                "t=time.time();r=app.control.inspect(timeout=1).stats() or {};print(len(r), time.time()-t)")
        wall, p = run([PY, "-c", code], penv)
        got = p.stdout.decode().split()
        print("fleet: peer `celery inspect stats` (Celery's own, no memory per child): %.2f s wall, %s workers, broadcast %.2f s"
              % (wall, got[0] if got else "?", float(got[1]) if len(got) > 1 else -1))
        wall, p = run([PY, "-c", "import celery"], penv)
        print("fleet: of which Python start + `import celery` alone: %.2f s" % wall)
    finally:
        env.down()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
