"""A small Celery app that leaks and races on purpose: the Worker Lens demo and e2e workload.

Run it (Redis on 127.0.0.1:6379, or set CELERY_BROKER_URL):
    PYTHONPATH=../../agent /usr/bin/python3 -m celery -A tasks worker --pool prefork -c 2 --workerlens
"""
import os
import time

from celery import Celery

app = Celery("tasks", broker=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"))
app.conf.update(
    task_ignore_result=True,
    worker_prefetch_multiplier=1,
    worker_hijack_root_logger=False,
)

# Adds `--workerlens` to `celery worker` (and honours WORKERLENS=1) when the agent is importable.
try:
    from workerlens_agent.celery import install as _install_workerlens
except ImportError:  # the agent is optional: without it, Worker Lens can still inject one
    pass
else:
    _install_workerlens(app)


class Payload:
    """One processed order. Instances pile up in leaky_storage: the leak Worker Lens should find."""

    def __init__(self, order_id, body):
        self.order_id = order_id
        self.body = body


# Leak: every processed order is kept forever in a module-level list.
leaky_storage = []


@app.task
def leak(order_id, size=2048):
    leaky_storage.append(Payload(order_id, "x" * size))
    return len(leaky_storage)


# Race: read-modify-write on module-level state. Under a threads/gevent pool concurrent runs lose
# updates; under prefork each child counts only its own share.
processed_count = 0


@app.task
def count_order(order_id):
    global processed_count
    processed_count += 1
    return processed_count


# Race: check-then-act on a module-level cache; two concurrent misses compute the price twice.
_price_cache = {}


def _compute_price(sku):
    time.sleep(0.005)  # stands for a slow database or HTTP call
    return sum(ord(c) for c in sku) / 10.0


@app.task
def cached_price(sku):
    if sku not in _price_cache:
        _price_cache[sku] = _compute_price(sku)
    return _price_cache[sku]
