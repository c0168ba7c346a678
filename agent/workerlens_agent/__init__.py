"""Worker Lens agent: a Chrome DevTools Protocol endpoint inside a Python process (stdlib only).

    import workerlens_agent; workerlens_agent.start()      # serve this process
    python -m workerlens_agent run script.py [args]         # run a script with the agent
    python -m workerlens_agent inject PID [--json]          # start it inside a running process
"""
from .protocol import AGENT_VERSION as __version__


def start(**kwargs):
    """Start (or return) this process's agent. kwargs: host, port, role, process_name, worker_name, pool, injected."""
    from . import agent
    return agent.start(**kwargs)


def stop():
    from . import agent
    agent.stop()


def current():
    from . import agent
    return agent.current()
