"""Flight recorder, report files and the /metrics text, in this process (any Python 3.8+)."""
import errno
import io
import json
import mmap
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import unittest
from contextlib import redirect_stderr

from tests.helpers import AGENT_DIR, free_port, http_get  # noqa: F401

from workerlens_agent import heapcounts, memoryparts, metrics, recorder, reportfiles, tasksample, telemetry

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')


def parse_exposition(text):
    """{(name, frozenset(labels)): value}, checking every line is a comment or a well-formed sample."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        m = SAMPLE.match(line)
        assert m, "bad line: %r" % line
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


class ReportFilesTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="wl-rep-")
        self.reports = os.path.join(self.dir, "reports")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_private_dir_and_atomic_write(self):
        reportfiles.ensure_private_dir(self.reports)
        self.assertEqual(stat.S_IMODE(os.lstat(self.reports).st_mode), 0o700)
        reportfiles.write_atomic(self.reports, "1-2.json", b'{"a":1}')
        reportfiles.write_atomic(self.reports, "1-2.json", b'{"a":2}')
        self.assertEqual(os.listdir(self.reports), ["1-2.json"])  # no temp file left behind
        self.assertEqual(stat.S_IMODE(os.lstat(os.path.join(self.reports, "1-2.json")).st_mode), 0o600)
        with open(os.path.join(self.reports, "1-2.json")) as f:
            self.assertEqual(json.load(f), {"a": 2})

    def test_refuses_a_file_or_symlink_in_place_of_the_dir(self):
        with open(self.reports, "w") as f:
            f.write("x")
        with self.assertRaises(OSError):
            reportfiles.ensure_private_dir(self.reports)
        os.unlink(self.reports)
        os.symlink(self.dir, self.reports)
        with self.assertRaises(OSError):
            reportfiles.ensure_private_dir(self.reports)

    def test_corrupt_truncated_and_foreign_files_are_skipped_with_a_note(self):
        reportfiles.ensure_private_dir(self.reports)
        r = recorder.Recorder(role="child", process_name="ForkPoolWorker-1", child_index=0, directory=self.reports)
        r.refresh()
        good = r.name
        with open(os.path.join(self.reports, good), "rb") as f:
            data = f.read()
        with open(os.path.join(self.reports, "999991-1.json"), "wb") as f:
            f.write(data[: len(data) // 2])
        with open(os.path.join(self.reports, "999992-1.json"), "wb") as f:
            f.write(b'{"hello": "world"}')
        with open(os.path.join(self.reports, "999993-1.json"), "wb") as f:
            f.write(b"")
        reports, notes = reportfiles.read_all(self.reports)
        self.assertEqual([x["_file"] for x in reports], [good])
        self.assertEqual(len(notes), 3, notes)
        self.assertTrue(any("999991-1.json: truncated or not JSON" in n for n in notes), notes)
        self.assertTrue(any("999992-1.json: not a Worker Lens report" in n for n in notes), notes)
        self.assertTrue(any("999993-1.json: empty" in n for n in notes), notes)

    def test_prune_keeps_live_and_newest_dead(self):
        reportfiles.ensure_private_dir(self.reports)
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        for i in range(5):
            path = os.path.join(self.reports, "%d-%d.json" % (dead.pid, i))
            with open(path, "w") as f:
                f.write("{}")
            os.utime(path, (1000 + i, 1000 + i))
        live = os.path.join(self.reports, "%d-1.json" % os.getpid())
        with open(live, "w") as f:
            f.write("{}")
        os.utime(live, (1, 1))  # old, but its process is alive
        stale_tmp = os.path.join(self.reports, ".x.json.1.ab.tmp")
        with open(stale_tmp, "w") as f:
            f.write("partial")
        os.utime(stale_tmp, (1, 1))
        removed = reportfiles.prune(self.reports, keep=2, max_age=10 ** 12)
        self.assertEqual(removed, 4)
        self.assertEqual(sorted(os.listdir(self.reports)),
                         sorted(["%d-1.json" % os.getpid(), "%d-3.json" % dead.pid, "%d-4.json" % dead.pid]))


def _resident(n):
    """n bytes of new resident memory: an anonymous mapping with every page written. Not bytearray():
    after earlier tests free big blocks, glibc's dynamic mmap threshold serves it from already
    resident free heap and RSS does not move (seen in the full suite: 8 KB for 10 MiB)."""
    m = mmap.mmap(-1, n)
    for off in range(0, n, mmap.PAGESIZE):
        m[off] = 1
    return m


class RecorderTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="wl-rec-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_report_has_tasks_histogram_types_and_stacks(self):
        r = recorder.Recorder(role="child", process_name="ForkPoolWorker-3", child_index=1,
                              directory=os.path.join(self.dir, "r"))
        r.refresh()
        keep = []
        for i in range(5):
            tasksample.shared.reset()  # RSS is sampled (tasksample.py): these runs are all measured
            r.tasks.begin("t%d" % i, "tasks.grow")
            keep.append([object() for _ in range(20000)])
            keep.append(_resident(2 << 20))
            r.tasks.end("t%d" % i)
        r.tasks.begin("f", "tasks.fail")
        r.tasks.end("f", failed=True)
        r._next_counts = 0  # counts now, not at the duty-cycle time
        doc = r.refresh()
        on_disk, why = reportfiles.read_one(os.path.join(r.directory, r.name))
        self.assertIsNone(why)
        self.assertEqual(on_disk["pid"], os.getpid())
        self.assertEqual(doc["tasks"]["runs"]["tasks.grow"], {"succeeded": 5, "failed": 0})
        self.assertEqual(doc["tasks"]["runs"]["tasks.fail"], {"succeeded": 0, "failed": 1})
        self.assertEqual(len(doc["tasks"]["recent"]), 6)
        h = doc["tasks"]["memDelta"]["tasks.grow"]
        self.assertEqual(h["count"], 5)
        self.assertEqual(h["cumulative"][-1], 5)
        self.assertGreater(h["sum"], 5 * (1 << 20))  # 2 MiB of new resident pages per run
        growing = {g["type"]: g["growth"] for g in doc["objects"]["growing"]}
        self.assertGreaterEqual(growing.get("object", 0) if "object" in growing else growing.get("list", 0), 0)
        self.assertTrue(any(t["frames"] for t in doc["threads"]))
        self.assertTrue(doc["memoryNote"] is None or "RSS only" in doc["memoryNote"])

    def test_growing_types_since_the_first_count(self):
        class Leaky(object):
            pass
        r = recorder.Recorder(directory=os.path.join(self.dir, "r"))
        r.refresh()
        keep = [Leaky() for _ in range(3000)]
        r._next_counts = 0
        doc = r.refresh()
        top = doc["objects"]["growing"][0]
        self.assertTrue(top["type"].endswith("Leaky"), doc["objects"]["growing"][:3])
        self.assertGreaterEqual(top["growth"], 3000)
        self.assertLessEqual(len(doc["objects"]["growing"]), recorder.TOP_TYPES)
        del keep

    def test_bounded_task_names(self):
        r = recorder.Recorder(directory=os.path.join(self.dir, "r"))
        for i in range(recorder.MAX_TASK_NAMES + 10):
            r.tasks.begin(i, "task%d" % i)
            r.tasks.end(i)
        snap = r.tasks.snapshot()
        self.assertEqual(len(snap["runs"]), recorder.MAX_TASK_NAMES + 1)
        self.assertEqual(snap["runs"]["other"]["succeeded"], 10)

    def test_unwritable_dir_pauses_with_the_reason_and_resumes(self):
        target = os.path.join(self.dir, "r")
        with open(target, "w") as f:  # a file where the directory should be: every write fails
            f.write("not a dir")
        r = recorder.Recorder(directory=target)
        err = io.StringIO()
        with redirect_stderr(err):
            doc = r.refresh()
            doc2 = r.refresh()
        self.assertIsNotNone(doc["recorder"]["paused"])
        self.assertIn("not a directory", doc["recorder"]["paused"]["reason"])
        self.assertEqual(err.getvalue().count("flight recorder paused"), 1, err.getvalue())
        self.assertIsNotNone(doc2["recorder"]["paused"])
        os.unlink(target)
        r._retry_at = 0
        with redirect_stderr(err):
            doc3 = r.refresh()
        self.assertIsNone(doc3["recorder"]["paused"])
        self.assertIn("resumed", err.getvalue())
        self.assertTrue(os.path.exists(os.path.join(target, r.name)))

    def test_disk_full_pauses(self):
        r = recorder.Recorder(directory=os.path.join(self.dir, "r"))
        real = reportfiles.write_atomic

        def full(*_a):  # ENOSPC cannot be produced on this machine's disks without a mount; its handling can
            raise OSError(errno.ENOSPC, "No space left on device")
        reportfiles.write_atomic = full
        try:
            with redirect_stderr(io.StringIO()) as err:
                doc = r.refresh()
        finally:
            reportfiles.write_atomic = real
        self.assertIn("the disk is full (ENOSPC)", doc["recorder"]["paused"]["reason"])
        self.assertIn("the worker keeps running", err.getvalue())

    def test_real_full_and_read_only_file_system(self):
        """A 64 kB tmpfs (root only): filled up, then remounted read-only. The last good report survives."""
        mnt = os.path.join(self.dir, "mnt")
        os.mkdir(mnt)
        if os.getuid() != 0 or subprocess.call(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt],
                                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) != 0:
            self.skipTest("needs root and mount(8) to make a small tmpfs")
        self.addCleanup(subprocess.call, ["umount", "-l", mnt])
        r = recorder.Recorder(directory=os.path.join(mnt, "reports"))
        first = r.refresh()
        self.assertIsNone(first["recorder"]["paused"])
        path = os.path.join(r.directory, r.name)
        with open(path, "rb") as f:
            good = f.read()
        filler = os.path.join(mnt, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"x" * 4096)
        except OSError as e:
            self.assertEqual(e.errno, errno.ENOSPC)
        finally:
            os.close(fd)
        err = io.StringIO()
        with redirect_stderr(err):
            doc = r.refresh()
        self.assertIn("the disk is full (ENOSPC)", doc["recorder"]["paused"]["reason"])
        with open(path, "rb") as f:
            self.assertEqual(f.read(), good)  # the old report is whole: the temp file took the failure
        self.assertEqual([n for n in os.listdir(r.directory) if n.endswith(".tmp")], [])
        os.unlink(filler)
        r._retry_at = 0
        with redirect_stderr(err):
            self.assertIsNone(r.refresh()["recorder"]["paused"])
        self.assertEqual(subprocess.call(["mount", "-o", "remount,ro", mnt]), 0)
        r._retry_at = 0
        with redirect_stderr(err):
            doc = r.refresh()
        self.assertIn("the file system is read-only (EROFS)", doc["recorder"]["paused"]["reason"])
        self.assertIn("resumed", err.getvalue())
        self.assertEqual(err.getvalue().count("flight recorder paused"), 2, err.getvalue())

    def test_oversized_report_is_trimmed(self):
        r = recorder.Recorder(directory=os.path.join(self.dir, "r"))
        doc = r.build()
        doc["threads"] = [{"name": "t%d" % i, "daemon": False, "isRecorder": False,
                           "frames": [{"functionName": "f" * 200, "url": "u" * 200, "lineNumber": 1}] * 30}
                          for i in range(32)]
        self.assertLessEqual(len(r.encode(doc)), recorder.MAX_BYTES)


class ExitReasonTest(unittest.TestCase):
    def test_child_reasons(self):
        lim = {"maxTasksPerChild": 10, "maxMemoryPerChildKb": 50000}
        self.assertEqual(telemetry.child_exit_reason(155, lim, 10, 1, 1)["reason"], "max_tasks_per_child")
        self.assertEqual(telemetry.child_exit_reason(155, lim, 3, 60000 * 1024, 0)["reason"], "max_memory_per_child")
        self.assertEqual(telemetry.child_exit_reason(0, lim, 3, 1, 0)["reason"], "shutdown")
        self.assertEqual(telemetry.child_exit_reason(3, lim, 3, 1, 0)["reason"], "error")

    def test_main_reasons(self):
        v = telemetry.main_exit_reason(-9, None, False)
        self.assertEqual(v["reason"], "sigkill")
        self.assertIn("probably the OOM killer", v["text"])
        self.assertEqual(telemetry.main_exit_reason(-9, None, True)["reason"], "oom_killer")
        self.assertEqual(telemetry.main_exit_reason(-15, None, False)["text"], "killed by signal 15 (SIGTERM)")
        said = {"reason": "max_memory_per_child", "text": "recycled: RSS over"}
        self.assertEqual(telemetry.main_exit_reason(155, said, False)["reason"], "max_memory_per_child")
        self.assertEqual(telemetry.main_exit_reason(155, None, False)["reason"], "recycled")
        self.assertEqual(telemetry.main_exit_reason(None, None, False)["reason"], "unknown")


class RecordExitTest(unittest.TestCase):
    """The main process's side: a child's report gets its exit; the fallback's "unknown" can be corrected."""

    def setUp(self):
        self.saved = dict(telemetry._state)
        self.dir = tempfile.mkdtemp(prefix="wl-exit-")
        telemetry._state.update(lock=recorder.originals().allocate_lock(), exits={}, seen={}, dead_once={},
                                oom_kills=None)
        telemetry._state["recorder"] = recorder.Recorder(role="main", directory=self.dir)

    def tearDown(self):
        telemetry._state.clear()
        telemetry._state.update(self.saved)
        shutil.rmtree(self.dir, ignore_errors=True)

    def child_report(self, pid, exit_info=None):
        r = recorder.Recorder(role="child", process_name="ForkPoolWorker-9", child_index=1, directory=self.dir)
        r.pid, r.name = pid, reportfiles.file_name(pid, r.started_at)
        if exit_info:
            r.exit = exit_info
        r.refresh(heavy=False)
        return os.path.join(self.dir, r.name)

    def test_kill_then_child_word_and_correction(self):
        path = self.child_report(999901)
        with redirect_stderr(io.StringIO()) as err:
            v = telemetry.record_exit(999901, None, "ForkPoolWorker-9")
            self.assertEqual(v["reason"], "unknown")
            self.assertIsNone(telemetry.record_exit(999901, None))  # once per pid
            v = telemetry.record_exit(999901, -9, "ForkPoolWorker-9")  # the pool hook, late: corrects it
        self.assertEqual(v["reason"], "sigkill")
        self.assertEqual(telemetry._state["exits"], {"unknown": 0, "sigkill": 1})
        with open(path) as f:
            self.assertEqual(json.load(f)["exit"]["reason"], "sigkill")
        self.assertIn("pid 999901: killed by signal 9", err.getvalue())

    def test_the_child_said_which_limit(self):
        said = {"reason": "max_memory_per_child", "text": "recycled: RSS 70000 KiB over max_memory_per_child=60000 KiB",
                "by": "child", "exitCode": 155, "at": 1.0}
        path = self.child_report(999902, said)
        with redirect_stderr(io.StringIO()):
            v = telemetry.record_exit(999902, 155)
        self.assertEqual((v["reason"], v["childSaid"]["by"]), ("max_memory_per_child", "child"))
        with open(path) as f:
            self.assertEqual(json.load(f)["exit"]["text"], said["text"])


class MetricsTextTest(unittest.TestCase):
    def reports(self):
        d = tempfile.mkdtemp(prefix="wl-met-")
        self.addCleanup(shutil.rmtree, d, True)
        main = recorder.Recorder(role="main", process_name="MainProcess", directory=d, worker_name="w@h",
                                 pool="prefork")
        child = recorder.Recorder(role="child", process_name="ForkPoolWorker-1", child_index=0, directory=d)
        tasksample.shared.reset()  # RSS is sampled: this one run is measured
        child.tasks.begin(1, 'tasks."odd"\nname\\x')
        child.tasks.end(1)
        return main.refresh(), child.refresh()

    def test_families_labels_and_histogram(self):
        main, child = self.reports()
        text = metrics.render(main, [child], {"sigkill": 2}, {"skipped": 1, "lastSeconds": 0.002})
        s = parse_exposition(text)
        P = ("process", "child-0")
        self.assertEqual(s[("workerlens_agent_up", frozenset([P]))], 1)
        self.assertGreater(s[("workerlens_process_resident_memory_bytes", frozenset([("process", "main")]))], 0)
        esc = 'tasks.\\"odd\\"\\nname\\\\x'
        self.assertEqual(s[("workerlens_tasks_total", frozenset([P, ("task", esc), ("state", "succeeded")]))], 1)
        self.assertEqual(s[("workerlens_task_memory_delta_bytes_count", frozenset([P, ("task", esc)]))], 1)
        self.assertEqual(s[("workerlens_task_memory_delta_bytes_bucket", frozenset([P, ("task", esc), ("le", "+Inf")]))], 1)
        self.assertEqual(s[("workerlens_pool_child_exits_total", frozenset([("reason", "sigkill")]))], 2)
        self.assertEqual(s[("workerlens_pool_child_exits_total", frozenset([("reason", "oom_killer")]))], 0)
        self.assertEqual(s[("workerlens_metrics_report_files_skipped", frozenset())], 1)
        # one HELP/TYPE per family, families not interleaved
        types = re.findall(r"^# TYPE (\S+) ", text, re.M)
        self.assertEqual(len(types), len(set(types)))

    def test_a_recycled_slot_shows_the_newer_process_only(self):
        main, child = self.reports()
        older = dict(child, pid=1, startedAt=child["startedAt"] - 100)
        s = parse_exposition(metrics.render(main, [older, child], {}, {}))
        pids = [dict(k[1])["pid"] for k in s if k[0] == "workerlens_process_info" and dict(k[1])["process"] == "child-0"]
        self.assertEqual(pids, [str(child["pid"])])

    def test_parse_address(self):
        self.assertEqual(metrics.parse_address("127.0.0.1:9808"), ("127.0.0.1", 9808))
        self.assertEqual(metrics.parse_address(":9808"), ("127.0.0.1", 9808))
        self.assertEqual(metrics.parse_address("9808"), ("127.0.0.1", 9808))
        self.assertEqual(metrics.parse_address("[::1]:9808"), ("::1", 9808))
        for bad in ("", "host:", "host:http", "1:70000", "[::1]9808"):
            with self.assertRaises(ValueError):
                metrics.parse_address(bad)

    def test_server_serves_and_port_in_use_is_one_log_line(self):
        srv = metrics.MetricsServer("127.0.0.1", 0, lambda _s: "x 1\n").start()
        self.addCleanup(srv.stop)
        status, body = http_get(srv.port, "/metrics")
        self.assertEqual((status, body), (200, b"x 1\n"))
        self.assertEqual(http_get(srv.port, "/nope")[0], 404)
        err = io.StringIO()
        with redirect_stderr(err):
            self.assertIsNone(metrics.MetricsServer("127.0.0.1", srv.port, lambda _s: "").start())
        self.assertEqual(err.getvalue().count("\n"), 1)
        self.assertIn("is in use", err.getvalue())
        self.assertIn("the worker keeps running", err.getvalue())
        with redirect_stderr(err):
            self.assertIsNone(telemetry.start_metrics("127.0.0.1:nope"))
        self.assertIn("the port must be a number", err.getvalue())


class MemoryPartsTest(unittest.TestCase):
    """The breakdown (issue 12) through its one adapter: live once memorybreakdown.py is in the build."""

    def test_parts_reach_the_report_and_the_metrics(self):
        if not memoryparts.available():
            self.skipTest("the memory breakdown (memorybreakdown.py) is not in this build")
        p = memoryparts.parts(counts=heapcounts.object_counts())
        self.assertIn("pythonTracked", p["parts"])
        self.assertTrue(all(isinstance(v, int) for v in p["parts"].values()))
        self.assertTrue(set(p["how"].values()) <= {"exact", "estimated"})
        d = tempfile.mkdtemp(prefix="wl-mp-")
        self.addCleanup(shutil.rmtree, d, True)
        doc = recorder.Recorder(role="main", directory=d).refresh()
        self.assertIsNone(doc["memoryNote"])
        s = parse_exposition(metrics.render(doc, [], {}, {}))
        parts = {dict(k[1])["part"] for k in s if k[0] == "workerlens_memory_part_bytes"}
        self.assertEqual(parts, set(doc["memory"]["parts"]))
        self.assertIn("pythonTracked", parts)

    def test_without_the_breakdown_the_report_says_rss_only(self):
        if memoryparts.available():
            self.skipTest("the breakdown is in this build")
        d = tempfile.mkdtemp(prefix="wl-mp-")
        self.addCleanup(shutil.rmtree, d, True)
        doc = recorder.Recorder(role="main", directory=d).refresh()
        self.assertIsNone(memoryparts.parts())
        self.assertIn("RSS only", doc["memoryNote"])
        self.assertNotIn("workerlens_memory_part_bytes", metrics.render(doc, [], {}, {}))


if __name__ == "__main__":
    unittest.main()
