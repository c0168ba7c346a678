"""Keeps sending the example tasks so the worker leaks and races: Ctrl-C to stop.

    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 /usr/bin/python3 producer.py [--rate 20] [--count 0]
"""
import argparse
import itertools
import time

from tasks import cached_price, count_order, leak


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=20.0, help="task batches per second")
    parser.add_argument("--count", type=int, default=0, help="batches to send, 0 = forever")
    args = parser.parse_args()
    period = 1.0 / args.rate if args.rate > 0 else 0
    batches = itertools.count() if args.count == 0 else range(args.count)
    for i in batches:
        leak.delay(i)
        count_order.delay(i)
        cached_price.delay("sku-%d" % (i % 50))
        if period:
            time.sleep(period)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
