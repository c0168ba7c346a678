"""Fleet over a real broker: real redis-server, real Celery prefork workers with --workerlens, two
"hosts" made as network namespaces (own loopback, own hostname), a garbage replier, two workers
sharing one node name, and a tunnel (socat through `ip netns exec`) as the only way to an agent."""
import io
import json
import os
import signal
import subprocess
import sys
import time
import unittest

from tests.helpers import CELERY_PY, REPO, client, free_port, have_celery, wait_for

sys.path.insert(0, os.path.join(REPO, "test", "fixtures", "fleet"))
import fleet_env  # noqa: E402
import rabbitmq  # noqa: E402

from workerlens_agent import fleet  # noqa: E402

WHY_NOT = None if have_celery() else "needs /usr/bin/python3 with celery+redis and redis-server"
WHY_NOT = WHY_NOT or fleet_env.can_make_hosts()
# The fleet's processes all run /usr/bin/python3 (the one with Celery): once is enough, not per interpreter.
if not WHY_NOT and os.path.realpath(sys.executable) != os.path.realpath(CELERY_PY):
    WHY_NOT = "the fleet runs on %s; tested once, under that interpreter" % CELERY_PY


def run_fleet(broker, *args):
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "agent"), PYTHONDONTWRITEBYTECODE="1")
    p = subprocess.run([CELERY_PY, "-m", "workerlens_agent", "fleet", "--broker", broker] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=60)
    return p.returncode, [json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()], p.stderr.decode()


class ValidateTest(unittest.TestCase):
    """What the client makes of replies that are not ours (no broker needed)."""

    def test_garbage_older_and_missing_command(self):
        self.assertEqual(fleet.validate("n", ["x"])[0], "unknown")
        self.assertIn("version 0", fleet.validate("n", {"workerlens": 0, "agentVersion": "0.0.1"})[1])
        self.assertIn("no Worker Lens fleet command", fleet.validate("n", {"error": "KeyError('workerlens_fleet')"})[1])
        self.assertEqual(fleet.validate("n", {"workerlens": 1, "processes": []}), ("ok", None))
        self.assertEqual(fleet.validate("n", {"workerlens": 1, "processes": "x"})[0], "unknown")

    def test_redact_and_usage(self):
        self.assertEqual(fleet.redact("redis://u:secret@h:6379/0"), "redis://u:***@h:6379/0")
        self.assertEqual(fleet.redact("redis://:secret@h/0"), "redis://:***@h/0")
        self.assertEqual(fleet.redact("amqp://guest@h//"), "amqp://guest@h//")
        out = io.StringIO()
        saved = os.environ.pop("WORKERLENS_BROKER_URL", None)
        try:
            self.assertEqual(fleet.client_main(["--timeout", "x", "--broker", "redis://h"], out=out), 2)
            self.assertEqual(fleet.client_main([], out=out), 2)
        finally:
            if saved is not None:
                os.environ["WORKERLENS_BROKER_URL"] = saved
        lines = [json.loads(x) for x in out.getvalue().splitlines()]
        self.assertEqual([x["code"] for x in lines], ["usage", "usage"])
        self.assertIn("number of seconds", lines[0]["message"])


@unittest.skipIf(WHY_NOT, WHY_NOT)
class FleetTest(unittest.TestCase):
    BROKER = "redis"

    @classmethod
    def setUpClass(cls):
        cls.env = fleet_env.FleetEnv(hosts=2, per_host=1, garbage=True, dup=True, broker=cls.BROKER).up()

    @classmethod
    def tearDownClass(cls):
        cls.env.down()
        left = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE).stdout.decode()
        assert cls.env.tag not in left, "namespaces left behind: %s" % left

    def workers(self, lines):
        return dict((x["node"], x) for x in lines if x["type"] == "worker" and not x["duplicate"])

    def test_1_lists_every_worker_with_children_across_hosts(self):
        code, lines, err = run_fleet(self.env.broker, "--timeout", "3", "--budget", "4")
        self.assertEqual(code, 0, err)
        by_node = self.workers(lines)
        for w in self.env.workers:
            if w["queue"] is None or w["node"].startswith("dup@"):
                continue
            got = by_node[w["node"]]
            self.assertEqual(got["status"], "ok", got)
            r = got["reply"]
            self.assertEqual((r["host"], r["pid"], r["pool"], r["concurrency"]), (w["host"], w["pid"], "prefork", 2))
            procs = r["processes"]
            self.assertEqual([p["role"] for p in procs], ["main", "child", "child"])
            self.assertEqual(sorted(p["pid"] for p in procs[1:]), w["childPids"])
            for p in procs:
                self.assertIsNone(p["error"], p)
                self.assertGreater(p["rssBytes"], 10 << 20)
                self.assertIsInstance(p["agentPort"], int)
                self.assertNotIn("token", p, "no token unless the caller asked to attach")
            self.assertTrue(all(p["processName"].startswith("ForkPoolWorker-") for p in procs[1:]))
            self.assertEqual(r["python"].count("."), 2)
            self.assertTrue(r["celery"])
        self.assertEqual(by_node["garbage@local"]["status"], "unknown")
        self.assertIn("not a Worker Lens fleet reply", by_node["garbage@local"]["reason"])
        dups = [x for x in lines if x["type"] == "worker" and x["node"] == "dup@local"]
        dup_pids = [w["pid"] for w in self.env.workers if w["node"] == "dup@local"]
        done = lines[-1]
        if self.BROKER == "amqp":
            # RabbitMQ: workers sharing a node name share one pidbox queue, so each broadcast reaches
            # only one of them (Celery's semantics; README says so): one reply, not marked duplicate
            self.assertEqual(len(dups), 1, dups)
            self.assertIn(dups[0]["reply"]["pid"], dup_pids)
            self.assertEqual((done["type"], done["workers"], done["replies"]), ("done", 4, 4))
        else:
            self.assertEqual(len(dups), 2)
            self.assertTrue(all(x["duplicate"] for x in dups))
            self.assertEqual(sorted(x["reply"]["pid"] for x in dups), sorted(dup_pids))
            self.assertEqual((done["type"], done["workers"], done["replies"]), ("done", 4, 5))

    def test_2_the_leaking_worker_shows_its_growth(self):
        leaky = [w for w in self.env.workers if w["queue"] == "leaky"][0]
        run_fleet(self.env.broker, "--counts-every", "0.5", "--budget", "4")  # first look: the baseline
        # 2 MB a run: far more than the free heap a child starts with, so the runs that are sampled see
        # RSS rise (50 kB came from malloc's already-resident free memory: RSS did not move, CI 2026-12-02)
        n, size = 40, 2 << 20
        send_tasks_broker(self.env.broker, "from tasks import leak\nfor i in range(%d): "
                          "leak.apply_async((i, %d), queue='leaky')" % (n, size))

        def runs():
            code, lines, _ = run_fleet(self.env.broker, "--counts-every", "0.5", "--timeout", "3", "--budget", "4")
            r = self.workers(lines)[leaky["node"]]["reply"]
            total = sum(t["runs"] for p in r["processes"] for t in (p["tasks"] or []) if t["name"] == "tasks.leak")
            return r if total == n else None
        r = wait_for(runs, 60, "%d leak runs seen through the fleet" % n)
        payload = sum(g["delta"] for p in r["processes"] for g in (p["growth"] or []) if g["type"] == "Payload")
        self.assertEqual(payload, n, "children's Payload growth since the first look")
        grown = sum(p["rssBytes"] - p["rssFirstBytes"] for p in r["processes"])
        self.assertGreater(grown, n * size * 0.8)
        # RSS is read on a sample of runs (the agent's 0.5 % budget): scale each task's sum to its runs.
        leaks = [t for p in r["processes"] for t in (p["tasks"] or []) if t["name"] == "tasks.leak"]
        self.assertGreater(sum(t["memSampledRuns"] for t in leaks), 0, leaks)
        mem = sum(t["memDeltaBytes"] * t["runs"] / max(1, t["memSampledRuns"]) for t in leaks if t["memSampledRuns"])
        self.assertGreater(mem, n * size * 0.5, leaks)  # per-run RSS is sampled (the agent's budget): an estimate

    def test_4_a_growing_type_carries_its_recorder_path(self):
        """The flight recorder's retainer path of a growing type, read by the main from the child's
        report file (no search for the fleet): tasks.Payload is held by tasks.leaky_storage[N]."""
        if self.BROKER != "redis":
            self.skipTest("once, over Redis: the path comes from the worker's report files, not the broker")
        leaky = [w for w in self.env.workers if w["queue"] == "leaky"][0]

        def found():
            # a trickle: the recorder searches a path once a type's count rose in two counts in a row
            send_tasks_broker(self.env.broker, "from tasks import leak\nfor i in range(10): leak.apply_async((i, 1000), queue='leaky')")
            _code, lines, _err = run_fleet(self.env.broker, "--counts-every", "0.5", "--timeout", "3", "--budget", "4")
            r = self.workers(lines).get(leaky["node"], {}).get("reply") or {}
            rows = [g for p in r.get("processes") or [] for g in (p.get("growth") or []) if g["type"] == "Payload" and g.get("path")]
            return rows or None
        rows = wait_for(found, 120, "a Payload growth row with its recorder path")
        self.assertRegex(rows[0]["path"], r"^tasks\.leaky_storage\[\d+\]$", rows)
        self.assertIn("sampled instance", rows[0]["pathHow"])

    def test_3_attach_through_a_tunnel_only(self):
        code, lines, err = run_fleet(self.env.broker, "--attach", "--budget", "4", "--timeout", "3")
        r = self.workers(lines)["leaky@%s" % self.env.hosts[0]]["reply"]
        child = r["processes"][1]
        self.assertEqual(len(child["token"]), 32)
        direct_refused = False
        try:
            c = client.CdpClient("127.0.0.1", child["agentPort"], child["token"], timeout=2)
            c.close()
        except (OSError, ConnectionError):
            direct_refused = True
        self.assertTrue(direct_refused, "the agent in the namespace is not reachable from this host's loopback")
        local = free_port()
        cmd = fleet_env.TUNNEL.format(localPort=local, host=r["host"], port=child["agentPort"])
        import shlex
        tunnel = subprocess.Popen(shlex.split(cmd), start_new_session=True, stderr=subprocess.PIPE)
        try:
            def connect():
                try:
                    return client.CdpClient("127.0.0.1", local, child["token"], timeout=5)
                except (OSError, ConnectionError):
                    return None
            c = wait_for(connect, 15, "the tunnel")
            info = c.call("Python.getProcessInfo")
            c.close()
            self.assertEqual((info["pid"], info["role"]), (child["pid"], "child"))
        finally:
            os.killpg(tunnel.pid, signal.SIGTERM)
            tunnel.wait(5)
            tunnel.stderr.close()


@unittest.skipIf(WHY_NOT or rabbitmq.why_not(), WHY_NOT or rabbitmq.why_not())
class RabbitMQFleetTest(FleetTest):
    """The same fleet over a real RabbitMQ broker (Celery's remote control is a fanout exchange there,
    a pub/sub channel on Redis: the replies must be the same)."""
    BROKER = "amqp"


@unittest.skipIf(not have_celery() or WHY_NOT and "tested once" in WHY_NOT, "needs /usr/bin/python3 with celery+redis")
class AutostartFleetTest(unittest.TestCase):
    """An app that never calls install(): WORKERLENS=1 + the autostart hook registers the command too."""

    def test_autostart_worker_answers(self):
        from tests.helpers import AGENT_DIR, FIXTURES, Redis, Sandbox
        box = Sandbox()
        try:
            redis = Redis(box)
            path = os.path.join(AGENT_DIR, "workerlens_autostart") + os.pathsep + FIXTURES
            env = box.env(PYTHONPATH=path, WORKERLENS="1", CELERY_BROKER_URL=redis.url)
            worker = box.spawn([CELERY_PY, "-m", "celery", "-A", "plain_celery_app", "worker", "--pool", "prefork", "-c", "1",
                                "-l", "warning", "--without-heartbeat", "--without-mingle", "--without-gossip",
                                "-n", "auto@local"], env=env, stdout=subprocess.DEVNULL)

            def answered():
                code, lines, _ = run_fleet(redis.url, "--timeout", "2", "--budget", "3")
                w = [x for x in lines if x.get("node") == "auto@local" and x.get("status") == "ok"]
                return w and all(p["agentPort"] for p in w[0]["reply"]["processes"]) and w[0]
            got = wait_for(answered, 60, "the autostarted worker's fleet reply")
            self.assertEqual([p["role"] for p in got["reply"]["processes"]], ["main", "child"])
            self.assertEqual(got["reply"]["pid"], worker.pid)
        finally:
            box.close()


@unittest.skipIf(have_celery() is False, "needs /usr/bin/python3 with celery+redis")
class BrokerDownTest(unittest.TestCase):
    def test_unreachable_broker_is_one_clear_error(self):
        port = free_port()
        t0 = time.time()
        code, lines, _ = run_fleet("redis://user:hunter2@127.0.0.1:%d/0" % port)
        self.assertEqual(code, 1)
        self.assertEqual(len(lines), 1)
        self.assertEqual(lines[0]["code"], "broker-unreachable")
        self.assertNotIn("hunter2", json.dumps(lines))
        self.assertIn("***", lines[0]["message"])
        self.assertLess(time.time() - t0, 30)

    def test_unreachable_amqp_broker_is_one_clear_error(self):
        port = free_port()
        t0 = time.time()
        code, lines, _ = run_fleet("amqp://guest:hunter2@127.0.0.1:%d//" % port)
        self.assertEqual((code, len(lines), lines[0]["code"]), (1, 1, "broker-unreachable"), lines)
        self.assertNotIn("hunter2", json.dumps(lines))
        self.assertLess(time.time() - t0, 30)

    def test_wrong_password_is_one_clear_error(self):
        port = free_port()
        redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                  "--requirepass", "s3cret"], stdout=subprocess.DEVNULL, start_new_session=True)
        try:
            def up():
                code, lines, _ = run_fleet("redis://:s3cret@127.0.0.1:%d/0" % port)
                return lines if code == 0 else None
            self.assertEqual(wait_for(up, 20, "redis with a password")[-1]["workers"], 0)
            code, lines, _ = run_fleet("redis://:wrong@127.0.0.1:%d/0" % port)
            self.assertEqual((code, len(lines), lines[0]["code"]), (1, 1, "broker-auth"))
            self.assertNotIn("wrong", json.dumps(lines).replace("WRONGPASS", ""))
        finally:
            redis.kill()
            redis.wait(5)


def send_tasks_broker(broker, code):
    env = dict(os.environ, CELERY_BROKER_URL=broker, PYTHONPATH=os.path.join(REPO, "agent"))
    subprocess.check_call([CELERY_PY, "-c", code], cwd=os.path.join(REPO, "examples", "celery-leaky"), env=env, timeout=60)


if __name__ == "__main__":
    unittest.main()
