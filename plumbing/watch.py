"""What watches a run of main.py as it goes (Watch), and where a long computation may be stopped from outside: by
the live page's Stop, or because its client left.

In a terminal, Ctrl-C stops a run: Python raises KeyboardInterrupt wherever the run is. The live server runs
each request in a thread of its own, where no signal reaches, so the loops that take long (a patching grid's
blocks) call stop_point() before each step, and the server says what stop_point() checks while its request
runs (stops_with). Where nobody asked, as in a terminal, stop_point() does nothing.
"""
import contextlib
import sys
import threading
from typing import Callable, NamedTuple


class Watch(NamedTuple):
    """What watches a run as it goes (the terminal, or the live page's server): each is called when the run gets
    there, and none changes what the run computes."""
    text: Callable = lambda text: None  # each piece of the continuation, as it comes
    step: Callable = None  # each generated step: (n, the id chosen, the likeliest (id, probability) pairs)
    tools: Callable = lambda *found: None  # what the tools and experiments found (wiring.print_instruments' arguments)
    progress: Callable = lambda steps, what: steps  # wraps the long loops (a patching grid's)
    stop: Callable = None  # called at the long loops' stop points (stop_point below); it raises to end the run
    note: Callable = lambda sentence: print(f"note: {sentence}", file=sys.stderr)  # what the user should know of the run


_watched = threading.local()  # per thread: the server's requests run side by side


def stop_point():
    """A place where the run may end: the watcher's check raises there when it must."""
    check = getattr(_watched, "check", None)
    if check is not None:
        check()


def stopping(steps):
    """steps, with a stop_point() before each."""
    for step in steps:
        stop_point()
        yield step


@contextlib.contextmanager
def stops_with(check):
    """Within this, stop_point() calls check() (None: nothing) in this thread."""
    _watched.check = check
    try:
        yield
    finally:
        _watched.check = None
