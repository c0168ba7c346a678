"""Command line: `run SCRIPT [ARGS]`, `inject PID [--timeout S] [--json]`, `info` (see cli.py)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
