"""Imported first by main.py, for its one effect: Ctrl-C while the program loads (NumPy and the rest take a
few tenths of a second) or while the prompt is read from a pipe ends as "interrupted", exit 130, with no
traceback. plumbing/process.py takes over once the run begins."""
import signal
import sys


def interrupted(signum, frame):
    print("\ninterrupted", file=sys.stderr)
    sys.exit(130)


signal.signal(signal.SIGINT, interrupted)
