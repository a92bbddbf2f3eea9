"""Imported first by main.py, for its one effect: Ctrl-C while the program loads (NumPy and the rest take a
few tenths of a second) or while the prompt is read from a pipe ends as "interrupted", exit 130, with no
traceback. plumbing/process.py takes over once the run begins, before anything is written.

The handler ends the process at once (os._exit) rather than raising: an exception raised inside an import can
be turned into another one by the module being imported (NumPy's compiled core makes an ImportError of it, with a
page of advice), and before the run begins there is nothing to clean up."""
import os
import signal
import sys


def interrupted(signum, frame):
    print("\ninterrupted", file=sys.stderr, flush=True)
    os._exit(130)


signal.signal(signal.SIGINT, interrupted)
