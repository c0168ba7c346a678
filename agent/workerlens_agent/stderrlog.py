"""One line to the worker's stderr, prefixed "workerlens:"; never raises (a closed or full stderr
must not fail the worker)."""
import sys


def log(text):
    try:
        sys.stderr.write("workerlens: %s\n" % text)
        sys.stderr.flush()
    except Exception:
        pass
