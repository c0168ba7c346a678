"""WORKERLENS=1 for Celery apps that never call workerlens_agent.celery.install().

Put this directory AND the agent directory on PYTHONPATH:
    PYTHONPATH=/path/agent/workerlens_autostart:/path/agent WORKERLENS=1 celery -A proj worker

Python imports `sitecustomize` at startup. This one does nothing unless WORKERLENS=1; then it only
registers an import hook that, when Celery's own `celery.signals` module is first imported, connects
a `worker_init` handler: so the agent starts in Celery *worker* processes only (main + prefork
children), never in `celery inspect`, the producer, or unrelated Python subprocesses that inherit
the variable. It never imports celery itself. Afterwards it runs the sitecustomize it shadows (e.g.
Debian's), so the interpreter behaves as before.
"""
import os
import sys


def _chain_shadowed_sitecustomize():
    here = os.path.dirname(os.path.abspath(__file__))
    for entry in sys.path:
        try:
            if not entry or os.path.abspath(entry) == here:
                continue
            path = os.path.join(entry, "sitecustomize.py")
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    code = compile(f.read(), path, "exec")
                exec(code, {"__name__": "sitecustomize", "__file__": path})
                return
        except Exception:
            return


def _install_hook():
    if os.environ.get("WORKERLENS", "").strip().lower() not in ("1", "true", "yes", "on"):
        return
    try:
        from workerlens_agent.autostart import install_import_hook
    except ImportError:
        sys.stderr.write("workerlens: WORKERLENS=1 but workerlens_agent is not on PYTHONPATH\n")
        return
    install_import_hook()


try:
    _install_hook()
except Exception:
    pass
_chain_shadowed_sitecustomize()
