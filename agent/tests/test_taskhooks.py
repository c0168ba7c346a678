"""taskhooks: Celery's tracer calls the agent's receivers directly while they are the only ones, and
through Signal.send (every receiver, Celery's arguments) as soon as anyone else listens.

Over Celery's real tracer (task.apply() builds and runs it as a worker does)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

try:
    from celery import Celery, signals
    from celery.app import trace
except ImportError:  # pragma: no cover - CI installs python3-celery
    Celery = None


@unittest.skipIf(Celery is None, "celery not installed")
class DirectDispatchTest(unittest.TestCase):
    def setUp(self):
        from workerlens_agent import taskhooks
        self.taskhooks = taskhooks
        self.app = Celery("hooks_test", broker="memory://")
        self.app.conf.update(task_ignore_result=True, task_store_eager_result=False)

        @self.app.task
        def tick(i):
            return i
        self.tick = tick
        self.calls = []
        self.orig = (trace.send_prerun, trace.send_postrun)

        def pre(task_id=None, task=None, **kw):
            self.calls.append(("pre", task_id, task.name, sorted(kw)))

        def post(task_id=None, state=None, **kw):
            self.calls.append(("post", task_id, state, sorted(kw)))
        self.pre, self.post = pre, post
        signals.task_prerun.connect(pre, weak=False)
        signals.task_postrun.connect(post, weak=False)
        self.addCleanup(self.restore)

    def restore(self):
        signals.task_prerun.disconnect(self.pre)
        signals.task_postrun.disconnect(self.post)
        self.taskhooks.uninstall()
        trace.send_prerun, trace.send_postrun = self.orig

    def test_direct_while_alone_then_celery_dispatch_for_everyone(self):
        self.assertTrue(self.taskhooks.install("task_prerun", self.pre))
        self.assertTrue(self.taskhooks.install("task_postrun", self.post))
        self.assertTrue(getattr(trace.send_prerun, "_workerlens_direct", False))
        self.assertTrue(self.taskhooks.install("task_prerun", self.pre), "a second install is a no-op")
        r = self.tick.apply((1,))
        self.assertEqual(r.get(), 1)
        # direct: task_id and task / state only (no signal, sender, args: the receivers ignore them)
        self.assertEqual([c[0] for c in self.calls], ["pre", "post"])
        self.assertEqual(self.calls[0][2], self.tick.name)
        self.assertEqual(self.calls[1][2], "SUCCESS")
        self.assertEqual(self.calls[0][1], self.calls[1][1])

        # somebody else connects: every receiver now gets Celery's own dispatch and arguments
        seen = []

        def user_receiver(sender=None, signal=None, task_id=None, args=None, kwargs=None, **kw):
            seen.append((signal.name, sender.name, task_id, args))
        signals.task_prerun.connect(user_receiver, weak=False)
        signals.task_postrun.connect(user_receiver, weak=False)
        try:
            del self.calls[:]
            self.tick.apply((2,))
        finally:
            signals.task_prerun.disconnect(user_receiver)
            signals.task_postrun.disconnect(user_receiver)
        self.assertEqual([s[0] for s in seen], ["task_prerun", "task_postrun"])
        self.assertEqual(seen[0][1], self.tick.name)
        self.assertEqual(list(seen[0][3]), [2])
        self.assertEqual([c[0] for c in self.calls], ["pre", "post"])
        self.assertIn("signal", self.calls[0][3], "through Signal.send our receivers get Celery's arguments too")

        # alone again: direct again
        del self.calls[:]
        self.tick.apply((3,))
        self.assertEqual([c[0] for c in self.calls], ["pre", "post"])
        self.assertNotIn("signal", self.calls[0][3])

        self.taskhooks.uninstall()
        self.assertEqual(trace.send_prerun, signals.task_prerun.send)
        self.assertEqual(trace.send_postrun, signals.task_postrun.send)

    def test_never_over_somebody_elses_patch(self):
        def theirs(sender=None, **named):
            return signals.task_prerun.send(sender, **named)
        trace.send_prerun = theirs
        self.assertFalse(self.taskhooks.install("task_prerun", self.pre))
        self.assertIs(trace.send_prerun, theirs)
        self.tick.apply((1,))
        self.assertEqual([c[0] for c in self.calls], ["pre", "post"])

    def test_a_receiver_error_never_reaches_the_task(self):
        def bad(task_id=None, task=None, **kw):
            raise RuntimeError("boom")
        signals.task_prerun.disconnect(self.pre)
        signals.task_prerun.connect(bad, weak=False)
        try:
            self.assertTrue(self.taskhooks.install("task_prerun", bad))
            self.assertEqual(self.tick.apply((5,)).get(), 5)
        finally:
            signals.task_prerun.disconnect(bad)


if __name__ == "__main__":
    unittest.main()
