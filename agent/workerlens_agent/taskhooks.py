"""A direct call from Celery's tracer to our task_prerun/task_postrun receiver while it is the only one.

Why: Celery delivers a signal through Signal.send — a lock, a sweep for dead receivers, a scan of
every receiver, a kwargs dict — about 3 us per signal on this machine, more than the agent's own
bookkeeping and, for a cheap task (~400 us of CPU), most of the 1 % budget (bench/agent_task_hooks.
bench.py prints both). Celery's tracer (celery.app.trace) calls the module globals `send_prerun` /
`send_postrun`, Celery's bound Signal.send methods, and only when the signal has receivers at all.

While our receiver is the signal's only receiver, those globals point to a function that calls it
directly, with the same arguments Signal.send would pass. Anyone else connecting (before or after)
makes every call go through the original send again, so other receivers see Celery's semantics
untouched; a tracer that keeps its own copy of send (celery-batches, older tracers) simply takes the
normal path, where our receiver is still connected. Installed only while the globals are still
Celery's own bound methods (never over somebody else's patch); uninstall() puts them back.
"""

# signal -> (celery.app.trace global, the argument our receiver takes after task_id)
_GLOBALS = {"task_prerun": ("send_prerun", "task"), "task_postrun": ("send_postrun", "state")}
_installed = {}  # global name -> (Celery's original, ours)


def _direct(signal, receiver, original, second):
    """Celery's tracer calls send_prerun(sender=task, task_id=, task=, args=, kwargs=) and
    send_postrun(sender=task, task_id=, task=, args=, kwargs=, retval=, state=); ours calls
    receiver(task_id, task) / receiver(task_id, state) positionally (no kwargs dicts on the way)."""
    if second == "task":
        def send(sender=None, task_id=None, task=None, **named):
            receivers = signal.receivers
            if len(receivers) != 1 or receivers[0][1] is not receiver:  # someone else listens too
                return original(sender, task_id=task_id, task=task, **named)
            try:
                receiver(task_id, task)
            except Exception:  # as Signal.send: a receiver's error never reaches the task (ours never raise)
                pass
            return []
    else:
        def send(sender=None, task_id=None, state=None, **named):
            receivers = signal.receivers
            if len(receivers) != 1 or receivers[0][1] is not receiver:
                return original(sender, task_id=task_id, state=state, **named)
            try:
                receiver(task_id, state)
            except Exception:
                pass
            return []
    send._workerlens_direct = True
    return send


def install(signal_name, receiver):
    """Route celery.app.trace's send for `signal_name` straight to `receiver` (connected with
    weak=False, sender=None, and callable as receiver(task_id, task) for task_prerun or
    receiver(task_id, state) for task_postrun) while it is the signal's only receiver. True when installed."""
    try:
        from celery import signals
        from celery.app import trace
        name, second = _GLOBALS[signal_name]
        signal = getattr(signals, signal_name)
        current = getattr(trace, name, None)
        if getattr(current, "_workerlens_direct", False):
            return True
        if current is None or current != signal.send:  # not Celery's own (missing, or patched by someone else)
            return False
        ours = _direct(signal, receiver, current, second)
        _installed[name] = (current, ours)
        setattr(trace, name, ours)
        return True
    except Exception:
        return False


def uninstall():
    """Put Celery's own send methods back (only where ours is still in place)."""
    try:
        from celery.app import trace
    except Exception:
        return
    for name, (original, ours) in list(_installed.items()):
        if getattr(trace, name, None) is ours:
            setattr(trace, name, original)
        del _installed[name]
