"""python -m workerlens_agent {run,inject} ...: stable interface spawned by the extension and CLI."""
import json
import os
import runpy
import sys

USAGE = """usage:
  python -m workerlens_agent run SCRIPT [ARGS...]      run SCRIPT with the agent started (like -m cProfile)
  python -m workerlens_agent run -m MODULE [ARGS...]   same, for a module
  python -m workerlens_agent inject PID [--timeout SECONDS] [--json]
                                                       start the agent inside running process PID; prints
                                                       its discovery JSON (one line)
  python -m workerlens_agent fleet --broker URL [--timeout S] [--attach] [--no-counts]
                                                       every Celery worker on the broker (JSON lines)
  python -m workerlens_agent outside-stacks PID        thread stacks of PID read from /proc/PID/mem (run
                                                       with PID's own interpreter; PID is never stopped)
"""


def _stop_on_sigterm(agent):
    """SIGTERM's default action skips atexit: remove the discovery file first, then die of SIGTERM as
    before (same exit status). A handler the script installs later replaces this one."""
    import signal

    def on_term(signum, _frame):
        try:
            agent.stop()
        finally:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, on_term)


def _run(args):
    if not args:
        sys.stderr.write("workerlens: run needs a script: python -m workerlens_agent run SCRIPT [ARGS]\n")
        return 2
    from . import agent
    if args[0] == "-m":
        if len(args) < 2:
            sys.stderr.write("workerlens: run -m needs a module name\n")
            return 2
        sys.argv = [args[1]] + args[2:]
        agent.start(role="process")
        _stop_on_sigterm(agent)
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        return 0
    script = args[0]
    if not os.path.exists(script):
        sys.stderr.write("workerlens: no such script: %s\n" % script)
        return 2
    sys.argv = list(args)
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    agent.start(role="process", process_name=os.path.basename(script))
    _stop_on_sigterm(agent)
    runpy.run_path(script, run_name="__main__")
    return 0


def main(argv):
    if not argv or argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0 if argv else 2
    cmd, rest = argv[0], argv[1:]
    if cmd == "run":
        return _run(rest)
    if cmd == "fleet":
        from .fleet import client_main
        return client_main(rest)
    if cmd == "inject":
        from .inject import main as inject_main
        return inject_main(rest)
    if cmd == "outside-stacks":
        from .outsidestacks import main as outside_main
        return outside_main(rest)
    sys.stderr.write("workerlens: unknown command %r\n%s" % (cmd, USAGE))
    return 2
