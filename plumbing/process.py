"""The process around a run of main.py: signals, the standard streams, and how each kind of failure ends.

Every mistake a user can make ends in one sentence on stderr and an exit code, never a traceback:
2 for a mistake in the options (UsageError, said with the usage line as argparse says its own), 1 for a
problem with the model, the hub or a file, 130 after Ctrl-C, 128 + N after signal N (kill: 143, a closed
terminal: 129). --debug shows the traceback instead. Closing the output early (`| head`) stops quietly.
"""
import os
import signal
import sys


class ServeError(Exception):
    """The live page's server cannot start (its port is taken): one sentence, exit 1."""


def standard_streams():
    """The standard streams, checked before anything else. A closed stdout (`>&-`) is one sentence: nothing
    could show the text. A closed stderr (`2>&-`) takes the sentences to /dev/null (Python would otherwise print
    them to stdout, among the text), and a closed stdin (`<&-`) is sys.stdin = None, which --prompt-file -
    refuses. Their numbers are held by /dev/null, so that no file opened later takes them. A terminal that
    cannot show every character gets escapes."""
    closed = []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            os.dup2(os.open(os.devnull, os.O_RDWR), fd)
            closed.append(fd)
    if 2 in closed:
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)
    if 1 in closed:
        print("error: standard output is closed, so nothing could show the text; send it to a file, or to "
              "/dev/null", file=sys.stderr)
        sys.exit(1)
    if 0 in closed:
        sys.stdin = None
    if (sys.stdout.encoding or "").lower().replace("-", "") != "utf8":
        sys.stdout.reconfigure(errors="backslashreplace")


def usage_error(parser, e):
    """A mistake in the options, as argparse says it: the usage line, then the sentence; exit 2."""
    parser.print_usage(sys.stderr)
    print(f"{parser.prog}: error: {e}", file=sys.stderr)
    return 2


def run_as_process(body, parser, debug=False):
    """body(), with every failure turned into its sentence and exit code; returns the exit code."""
    from config import ModelError
    from plumbing.arguments import UsageError
    from plumbing.files import OutputError
    signal.signal(signal.SIGINT, signal.default_int_handler)  # from here on, Ctrl-C is KeyboardInterrupt, below
    for signum in (signal.SIGTERM, signal.SIGHUP):  # kill, a closed terminal: stop as Ctrl-C does, cleaning up
        signal.signal(signum, lambda signum, frame: sys.exit(128 + signum))
    try:
        return body() or 0
    except UsageError as e:
        return usage_error(parser, e)
    except (ModelError, OutputError, ServeError) as e:
        if debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # stdout closed early, e.g. `| head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 1
    except OSError as e:  # writing the output failed: `> /dev/full`, a disk that filled up
        if debug:
            raise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print(f"error: cannot write the output: {e.strerror or e}", file=sys.stderr)
        return 1
    finally:  # the work is over: a kill now takes the default action, not the handler, which would raise in an
        for signum in (signal.SIGTERM, signal.SIGHUP):  # interpreter shutting down and print a traceback
            signal.signal(signum, signal.SIG_DFL)
