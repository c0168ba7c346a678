"""A real Prometheus scrapes a real leaking Celery prefork worker's /metrics; the growth alert fires.

Also: `promtool check metrics` on the real output, `promtool check rules` on the shipped rules and
the test copy (a 15 s window and `for: 3s` instead of 1 h / 30 m), a kill -9 of a pool child counted
by reason, and the metrics port already in use (one log line, the worker still runs tasks).
"""
import json
import os
import shutil
import signal
import subprocess
import time
import unittest
import urllib.parse
import urllib.request

from tests.helpers import (REPO, Redis, Sandbox, children_of, free_port, have_celery, http_get, start_worker,
                           wait_for)

RULES = os.path.join(REPO, "examples", "prometheus", "workerlens-rules.yml")
HAVE_PROM = bool(shutil.which("prometheus") and shutil.which("promtool"))


def scrape(port):
    try:
        status, body = http_get(port, "/metrics")
    except OSError:
        return None
    return body.decode("utf-8") if status == 200 else None


def value(text, name, **labels):
    want = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            head, _, v = line.rpartition(" ")
            got = head[len(name):].strip("{}")
            if all(('%s="%s"' % kv) in got.split(",") for kv in labels.items()) or (not labels and not want):
                return float(v)
    return None


def api(port, path, **params):
    url = "http://127.0.0.1:%d%s?%s" % (port, path, urllib.parse.urlencode(params))
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read().decode("utf-8"))


@unittest.skipUnless(have_celery() and HAVE_PROM, "needs celery, redis-server and Debian's prometheus (promtool)")
class PrometheusTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.box = Sandbox()
        cls.redis = Redis(cls.box)

    @classmethod
    def tearDownClass(cls):
        cls.box.close()

    def test_rules_file_is_valid(self):
        r = subprocess.run(["promtool", "check", "rules", RULES], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.assertEqual(r.returncode, 0, r.stdout.decode())
        self.assertIn("SUCCESS: 6 rules found", r.stdout.decode())

    def test_prometheus_scrapes_a_leaking_worker_and_the_growth_alert_fires(self):
        mport = free_port()
        worker = start_worker(self.box, self.redis, "--pool", "prefork", "-c", "2", "-Q", "prom",
                              "--workerlens-metrics", "127.0.0.1:%d" % mport, WORKERLENS_RECORDER_INTERVAL="0.5")
        text = wait_for(lambda: (lambda t: t if t and t.count('workerlens_agent_up{process="child-') == 2 else None)(
            scrape(mport)), 30, "/metrics with both pool children")
        self.assertEqual(value(text, "workerlens_agent_up", process="main"), 1)
        from workerlens_agent import memoryparts
        if memoryparts.available():  # the breakdown (issue 12) in this build: its parts per process
            self.assertIsNotNone(value(text, "workerlens_memory_part_bytes", process="child-0", part="pythonTracked"))
        # the real output passes Prometheus' own linter
        r = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        self.assertEqual((r.returncode, r.stdout.decode()), (0, ""))

        # a test copy of the rules: same expressions, windows short enough for a test
        with open(RULES) as f:
            rules = f.read()
        fast = rules.replace("deriv(workerlens_process_resident_memory_bytes[1h])",
                             "deriv(workerlens_process_resident_memory_bytes[15s])")
        self.assertEqual(fast.count("[15s]"), 2)
        fast = fast.replace("        for: 30m\n", "        for: 3s\n", 1)
        rules_copy = os.path.join(self.box.dir, "rules.yml")
        with open(rules_copy, "w") as f:
            f.write(fast)
        self.assertEqual(subprocess.call(["promtool", "check", "rules", rules_copy], stdout=subprocess.DEVNULL), 0)
        pport = free_port()
        cfg = os.path.join(self.box.dir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [%s]\n"
                    "scrape_configs:\n  - job_name: celery\n    static_configs:\n      - targets: ['127.0.0.1:%d']\n"
                    % (json.dumps(rules_copy), mport))
        self.box.spawn(["prometheus", "--config.file", cfg, "--storage.tsdb.path", os.path.join(self.box.dir, "tsdb"),
                        "--web.listen-address", "127.0.0.1:%d" % pport, "--log.level", "warn"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # a producer that keeps the leak going: ~20 tasks/s, 200 kB kept per task
        env = self.box.env(CELERY_BROKER_URL=self.redis.url)
        self.box.spawn(["/usr/bin/python3", "-c", "import time\nfrom tasks import leak\n"
                        "for i in range(4000):\n    leak.apply_async((i, 200000), queue='prom')\n    time.sleep(0.05)"],
                       cwd=os.path.join(REPO, "examples", "celery-leaky"), env=env, stdout=subprocess.DEVNULL)

        def up():
            try:
                res = api(pport, "/api/v1/query", query='up{job="celery"}')["data"]["result"]
            except Exception:
                return None
            return res if res and res[0]["value"][1] == "1" else None
        wait_for(up, 30, "prometheus scraping the worker")
        seen = set()

        def firing():
            try:
                alerts = api(pport, "/api/v1/alerts")["data"]["alerts"]
            except Exception:
                return None
            mine = [a for a in alerts if a["labels"].get("alertname") == "WorkerLensMemoryGrowing"]
            seen.update(a["state"] for a in mine)
            return [a for a in mine if a["state"] == "firing"] or None
        alerts = wait_for(firing, 90, "WorkerLensMemoryGrowing firing")
        self.assertTrue(any(a["labels"]["process"].startswith("child-") for a in alerts), alerts)
        self.assertTrue(seen & {"pending", "firing"})
        # per-task memory as a dimension, queried back from Prometheus
        res = api(pport, "/api/v1/query",
                  query='sum by (task) (workerlens_task_memory_delta_bytes_count{task="tasks.leak"})')["data"]["result"]
        self.assertGreater(float(res[0]["value"][1]), 0)

        # the README's Grafana queries are valid PromQL and return data
        with open(os.path.join(REPO, "README.md")) as f:
            readme = f.read()
        block = readme.split("```promql\n", 1)[1].split("```", 1)[0]
        queries = [q for q in block.splitlines() if q.strip() and not q.startswith("#")]
        self.assertEqual(len(queries), 3)
        for q in queries:
            res = api(pport, "/api/v1/query", query=q)
            self.assertEqual(res["status"], "success", q)
            self.assertTrue(res["data"]["result"], "no data for %s" % q)

        # kill -9 a pool child: counted by reason, its last report marked by the main process
        victim = children_of(worker.pid)[0]
        os.kill(victim, signal.SIGKILL)
        text = wait_for(lambda: (lambda t: t if t and value(t, "workerlens_pool_child_exits_total", reason="sigkill") == 1
                                 else None)(scrape(mport)), 30, "the kill counted")
        reports_dir = os.path.join(self.box.discovery_dir, "reports")
        names = [n for n in os.listdir(reports_dir) if n.startswith("%d-" % victim)]
        with open(os.path.join(reports_dir, names[0])) as f:
            report = json.load(f)
        self.assertEqual(report["exit"]["reason"], "sigkill")
        self.assertIn("probably the OOM killer", report["exit"]["text"])
        self.assertTrue(any(t["name"] == "tasks.leak" for t in report["tasks"]["recent"]))
        os.killpg(worker.pid, signal.SIGKILL)  # not a warm shutdown: the producer's backlog would keep it busy
        worker.wait(30)

    def test_metrics_port_in_use_one_log_line_and_the_worker_keeps_running(self):
        import socket
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        try:
            worker = start_worker(self.box, self.redis, "--pool", "prefork", "-c", "1", "-Q", "busy",
                                  "--workerlens-metrics", "127.0.0.1:%d" % port)
            send = subprocess.Popen(["/usr/bin/python3", "-c", "from tasks import count_order\n"
                                     "r = count_order.apply_async((1,), queue='busy')"],
                                    cwd=os.path.join(REPO, "examples", "celery-leaky"),
                                    env=self.box.env(CELERY_BROKER_URL=self.redis.url))
            send.wait(30)
            reports_dir = os.path.join(self.box.discovery_dir, "reports")

            def ran():  # the child's report shows the task: the worker runs, telemetry too
                for name in os.listdir(reports_dir) if os.path.isdir(reports_dir) else ():
                    try:
                        with open(os.path.join(reports_dir, name)) as f:
                            d = json.load(f)
                    except (OSError, ValueError):
                        continue
                    if d.get("ppid") == worker.pid and "tasks.count_order" in d["tasks"]["runs"]:
                        return d
                return None
            wait_for(ran, 30, "the task to run")
            os.kill(worker.pid, signal.SIGTERM)
            worker.wait(30)
            err = worker.stderr.read().decode("utf-8", "replace")
            lines = [line for line in err.splitlines() if "/metrics not served" in line]
            self.assertEqual(len(lines), 1, err[-3000:])
            self.assertIn("127.0.0.1:%d is in use" % port, lines[0])
        finally:
            busy.close()


if __name__ == "__main__":
    unittest.main()
