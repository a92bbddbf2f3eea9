"""--serve: the live page, on 127.0.0.1, served by the standard library's http.server.

The model is loaded once; every request is a run of main.py's own chain (main.answer), its options
turned into the command line they stand for (arguments.as_argv) and checked by the command line's own
checks, so a mistake gets the sentence the terminal would print. The routes:

  GET  /            the page (page.html, .css and .js beside this file), with no run in it; its address holds
                    the run to do
  POST /api/run     the options -> exactly the object `main.py --json` prints for them
  POST /api/page    {"options": ..., "watch": [ids]} -> the page's events, one JSON object per line: each
                    new piece of the continuation, the progress of a long grid, then the page's data
  POST /api/stop    the run in progress stops at its next step: /api/run then answers 409 and its sentence,
                    /api/page ends its events with {"stopped": true}; neither is a failure

What it refuses, and why:
- A Host that is not 127.0.0.1:PORT or localhost:PORT (403): a web page elsewhere could otherwise point
  a name of its own at 127.0.0.1 and read the answers (DNS rebinding). A POST whose Origin is another
  page's (403): another site's page cannot make the browser run the model. (No Origin at all: a program
  such as curl, not a page, is let in.)
- Any other path (404) or method (405): only the page and its API are served, from memory; no request
  ever reads a file. A body over 1 MiB (413), or one that is not a JSON object of known options (400).
- One computation at a time: the model and the cores are shared. A request waits its turn, behind at
  most WAITING others; beyond, 503 with Retry-After. A run stops at its next step (a generated token, or
  a stack of patched runs) when the page says Stop or its client goes away, and the server goes on.
"""
import contextlib
import errno
import json
import os
import select
import shlex
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from config import ModelError
from instruments.page.data import page_data
from instruments.page.report import page
from plumbing.arguments import UsageError, parse_args
from plumbing.page_options import as_argv
from plumbing.process import ServeError
from plumbing.watch import Watch

LARGEST_BODY = 1 << 20  # bytes
WAITING = 4  # requests that may wait for their turn
MOST_SHOWN = 100  # show_top at most


class Stopped(Exception):
    """The run was stopped: by the page's Stop, or because its client went away."""


class Refused(Exception):
    def __init__(self, status, sentence, headers=()):
        super().__init__(sentence)
        self.status, self.headers = status, dict(headers)


def serve(model, port, parser, answer):
    """Serve the page until Ctrl-C (or kill); answer is main.answer, the chain every request runs."""
    try:
        server = Server(port, model, parser, answer)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise ServeError(f"cannot serve on 127.0.0.1:{port}: the port is in use; choose another with --port "
                             "(--port 0 takes any free one)") from None
        raise ServeError(f"cannot serve on 127.0.0.1:{port}: {e.strerror or e}") from None
    print(f"serving {model.name} on http://127.0.0.1:{server.server_port}/ (Ctrl-C stops it)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.stop.set()  # a run in progress ends at its next step
        server.server_close()


class Server(ThreadingHTTPServer):
    daemon_threads = True  # a run still going when the server stops does not keep the process alive

    def __init__(self, port, model, parser, answer):
        super().__init__(("127.0.0.1", port), Handler)
        self.model, self.parser, self.answer = model, parser, answer
        self.turn = threading.Lock()  # one computation at a time
        self.queue = threading.BoundedSemaphore(WAITING + 1)  # the run in progress and those waiting
        self.stop = threading.Event()
        config = model.config
        self.empty_page = page({"live": True, "model": model.name, "json": None,
                                "config": {k: getattr(config, k) for k in ("n_layer", "n_head", "n_embd", "n_ctx",
                                                                           "vocab_size")}}).encode("utf-8")


class Handler(BaseHTTPRequestHandler):
    timeout = 30  # seconds a client may stay silent while it sends its request
    ROUTES = {"/": {"GET": "send_page"}, "/api/run": {"POST": "run"}, "/api/page": {"POST": "events"},
              "/api/stop": {"POST": "stop"}}

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def __getattr__(self, name):  # every other method: 405
        if name.startswith("do_"):
            return lambda: self.route(name[3:])
        raise AttributeError(name)

    def route(self, method):
        started = time.monotonic()
        try:
            path = urlsplit(self.path).path
            self.check_host()
            if path not in self.ROUTES:
                raise Refused(404, f"there is nothing at {path[:100]}: the page is at /, its API at /api/run")
            methods = self.ROUTES[path]
            if method not in methods:
                raise Refused(405, f"{path} takes {', '.join(methods)}, not {method[:20]}", {"Allow": ", ".join(methods)})
            if method == "POST":
                self.check_origin()
            getattr(self, methods[method])()
        except Refused as e:
            self.send_json(e.status, {"error": str(e)}, e.headers)
        except (BrokenPipeError, ConnectionResetError):  # the client went away: nothing to answer
            pass
        except Exception as e:  # noqa: BLE001 -- a bug: said to the client and on the console, and the server goes on
            traceback.print_exc()
            with contextlib.suppress(OSError):
                self.send_json(500, {"error": f"the server failed on this request ({type(e).__name__}: {e}); "
                                              "its console shows where"})
        if path.startswith("/api/"):
            print(f"{method} {path[:40]} {time.monotonic() - started:.2f} s", file=sys.stderr, flush=True)

    def check_host(self):
        port = self.server.server_port
        if self.headers.get("Host") not in (f"127.0.0.1:{port}", f"localhost:{port}"):
            raise Refused(403, f"this server answers only requests to 127.0.0.1:{port} or localhost:{port}")

    def check_origin(self):
        origin, port = self.headers.get("Origin"), self.server.server_port
        if origin is not None and origin not in (f"http://127.0.0.1:{port}", f"http://localhost:{port}"):
            raise Refused(403, "requests from other pages are refused: the page is the one at "
                               f"http://127.0.0.1:{port}/")

    def body(self):
        """The request's JSON object."""
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise Refused(411, "a request needs a Content-Length") from None
        if length > LARGEST_BODY or length < 0:
            raise Refused(413, f"a request is at most {LARGEST_BODY} bytes; this one is {length}")
        try:
            return json.loads(self.rfile.read(length).decode("utf-8"), parse_constant=not_json)
        except (UnicodeDecodeError, ValueError, RecursionError) as e:
            raise Refused(400, f"the request is not JSON: {(str(e).splitlines() or [type(e).__name__])[0][:200]}") from None

    def parsed(self, options):
        """(the options as the command line's args, the command line), with the page's own bounds on a run's size."""
        try:
            argv = as_argv(options, self.server.parser)
            args = parse_args(self.server.parser, argv)
        except UsageError as e:
            raise Refused(400, str(e)) from None
        n_ctx = self.server.model.config.n_ctx
        if args.max_new_tokens > n_ctx:
            raise Refused(400, f"max_new_tokens is at most {n_ctx} here, the model's context")
        if args.show_top and args.show_top > MOST_SHOWN:
            raise Refused(400, f"show_top is at most {MOST_SHOWN} here")
        args.model = self.server.model.name
        return args, argv

    def send_page(self):
        self.send(200, self.server.empty_page, "text/html; charset=utf-8")

    def run(self):
        args, _ = self.parsed(self.body())
        with self.turn():
            try:
                report, _ = self.answer(args)
            except Stopped:
                if self.client_gone():
                    return  # nobody to answer
                raise Refused(409, "the run was stopped (a Stop asked for it) before it finished") from None
        self.send_json(200, report)

    def events(self):
        request = self.body()
        if not isinstance(request, dict) or set(request) - {"options", "watch"}:
            raise Refused(400, 'the page asks with {"options": {...}, "watch": [token ids]}')
        (args, argv), watch = self.parsed(request.get("options")), request.get("watch", [])
        vocab_size = self.server.model.config.vocab_size
        if not (isinstance(watch, list) and len(watch) <= 10 and all(type(i) is int and 0 <= i < vocab_size for i in watch)):
            raise Refused(400, f"watch is a list of at most 10 token ids below {vocab_size}")
        with self.turn():
            started = []  # the event stream, once it has begun: a mistake found before is a 400 instead

            def event(item):
                if not started:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/x-ndjson")
                    self.end_headers()
                    started.append(True)
                self.wfile.write(json.dumps(item, allow_nan=False).encode("utf-8") + b"\n")
                self.wfile.flush()
            try:
                report, shown = self.answer(args, event)
                event({"page": page_data(args, shown, self.server.model, report, self.command_line(argv), watch,
                                         live=True, progress=self.progress(event))})
            except Stopped:
                event({"stopped": True})
            except (BrokenPipeError, ConnectionResetError):
                raise
            except Exception as e:  # noqa: BLE001 -- once the stream began, a failure is its last event, not a 2nd answer
                if not started:
                    raise
                if not isinstance(e, Refused):
                    traceback.print_exc()
                event({"error": str(e) if isinstance(e, Refused) else
                       f"the server failed during this run ({type(e).__name__}: {e}); its console shows where"})

    def stop(self):
        self.server.stop.set()
        self.send_json(200, {"stopped": self.server.turn.locked()})

    def answer(self, args, event=None):
        """main.answer for these options; event gets each piece of the continuation and each step of a grid."""
        def on_text(text):
            self.tick()
            if event and text:
                event({"token": True, "text": text})
        watch = Watch(text=on_text, step=lambda *step: self.tick(), progress=self.progress(event), stop=self.tick)
        try:
            return self.server.answer(args, self.server.model, watch)
        except UsageError as e:
            raise Refused(400, str(e)) from None
        except ModelError as e:  # the model cannot answer this (its weights overflow): the server's fault, not the request's
            raise Refused(500, str(e)) from None

    def tick(self):
        """Called between steps of the run: it ends there once Stop was asked for or the client went away."""
        if self.server.stop.is_set() or self.client_gone():
            raise Stopped()

    def progress(self, event):
        """progress(steps, what) for long loops: a tick before each step, and an event telling the page."""
        def progress(steps, what):
            steps = list(steps)
            for done, item in enumerate(steps):
                self.tick()
                if event:
                    event({"progress": {"what": what, "done": done, "total": len(steps)}})
                yield item
        return progress

    @contextlib.contextmanager
    def turn(self):
        """The run's turn: it waits for the run in progress; 503 when too many wait already."""
        if not self.server.queue.acquire(blocking=False):
            raise Refused(503, f"the server is busy with other runs ({WAITING} waiting): try again soon",
                          {"Retry-After": "5"})
        try:
            with self.server.turn:
                self.server.stop.clear()  # a Stop meant for the run before this one
                yield
        finally:
            self.server.queue.release()

    def client_gone(self):
        """True once the client has closed its connection (a closed socket reads as empty)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def command_line(self, argv):
        """The command line that gives the same run in a terminal (argv: as_argv's, its prompt last)."""
        *options, _, prompt = argv
        words = [*options, "--model", self.server.model.name]
        words = [*words, "--", prompt] if prompt.startswith("-") else [prompt, *words]
        return shlex.join([os.environ.get("GPT2_COMMAND", "./run.sh"), *words])

    def send_json(self, status, value, headers=()):
        self.send(status, json.dumps(value, allow_nan=False).encode("utf-8"), "application/json", headers)

    def send(self, status, body, content_type, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in dict(headers).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # one line per API request instead, in route()
        pass


def not_json(constant):
    raise ValueError(f"{constant} is not a JSON number")
