"""--serve: the live page, on 127.0.0.1, served by the standard library's http.server.

The model is loaded once; every request is a run of main.py's own chain (main.answer), its options
turned into the command line they stand for (arguments.as_argv) and checked by the command line's own
checks, so a mistake gets the sentence the terminal would print. The routes:

  GET  /            the page (page.html, .css and .js beside this file), with no run in it. Its address may
                    hold a run's options: the page fills its form with them and waits for the user's Run
  POST /api/run     the options -> exactly the object `main.py --json` prints for them
  POST /api/page    {"options": ..., "watch": [ids]} -> the page's events, one JSON object per line: each
                    new piece of the continuation, the progress of a long grid, then the page's data. With
                    "answer_only": true, the tools and experiments are left out and the last event is the
                    answer a click needs first (the continuation, the watched tokens' probabilities)
  POST /api/lens    {"options": ...} -> {"lens": ..., "texts": ...}: the logit lens at every position of that run's
                    prompt, which the page's data leaves out with "lens": false until its section is opened
  POST /api/head    {"options": ..., "block": L, "head": H, "first": F} -> {"map": ...}: one head's attention
                    map from position F on, where the page's data held only each block's average (a long prompt)
  POST /api/heads   {"options": ..., "block": L, "first": F} -> {"maps": ..., "starts": ...}: every head of block
                    L from position F on, each made small (report.small_maps), for the same long prompt
  POST /api/stop    {"run": RUN_ID} -> the run its client named with the header Run-Id stops at its next step,
                    and no other: /api/run then answers 409 and its sentence, /api/page ends its events with
                    {"stopped": true}; neither is a failure. A client that closes its connection stops its run too

What no page of another site can do: start, stop or read a run. Its requests are refused whatever their form:
- A Host that is not 127.0.0.1:PORT or localhost:PORT (403): a page elsewhere could otherwise point a name
  of its own at 127.0.0.1 and read the answers (DNS rebinding).
- A POST with an Origin other than the page's own, or that the browser marks as sent from another site
  (Sec-Fetch-Site) (403); a POST whose body is not application/json (415): the forms a page may send
  elsewhere without asking first (text/plain, form-encoded, multipart) never run. A program such as curl,
  which sends no Origin, is let in.
- Framing: every answer forbids it (frame-ancestors 'none', X-Frame-Options), and the page runs only its own
  script and style (a content security policy naming them by hash). A page elsewhere may still open the
  page's address with a run in it; the run then waits for the user to press Run. (The other answer, a
  secret the page must present as Jupyter's token is, would keep that address from being shared or
  typed; the page's form already shows what it would run.)

What else it refuses, and why:
- What RFC 9112 tells a server to refuse (400): no Host or two, a target that is not a path or names another
  host, two Content-Lengths or one that is not digits, Content-Length with Transfer-Encoding (a body
  framed only by Transfer-Encoding: 411). Every answer closes its connection. HEAD gets GET's head.
- Any other path (404) or method (405): only the page and its API are served, from memory; no request
  ever reads a file. A body over 1 MiB (413), or one that is not a JSON object of known options (400).
- Time and connections: a request must arrive within REQUEST_SECONDS (408), and a client must read its
  answer as it comes (one that stops reading for WRITE_SECONDS is let go); at most MOST_CONNECTIONS are
  open at once (more: 503), fewer when the process may open few files.
- One computation at a time: the model and the cores are shared. A request waits its turn, behind at
  most WAITING others; beyond, 503 with Retry-After. A run stops at its next step (a generated token, a
  block of a grid, a window of scoring) when its Stop comes or its client goes away, and the server goes on.
  A client's behaviour (a reset, a stall) is never printed as the server's failure.
"""
import base64
import contextlib
import errno
import hashlib
import json
import re
import select
import shlex
import socket
import sys
import threading
import time
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from config import ModelError
from instruments.page.data import answer_data, lens_data, page_data, probed
from instruments.page.report import head_map, page, small_maps
from plumbing.arguments import UsageError, parse_args, typed_command
from plumbing.option_types import quoted
from plumbing.page_options import as_argv, form
from plumbing.process import ServeError
from plumbing.watch import Watch

LARGEST_BODY = 1 << 20  # bytes
WAITING = 4  # requests that may wait for their turn
MOST_SHOWN = 100  # show_top at most
MOST_CONNECTIONS = 32  # open at once, at most
REQUEST_SECONDS = 10  # for a request to arrive, head and body
WRITE_SECONDS = 5  # a client that reads nothing of its answer for this long is let go
RUN_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
SHARED = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Cache-Control": "no-store",
          "Referrer-Policy": "no-referrer", "Cross-Origin-Resource-Policy": "same-origin", "Connection": "close",
          "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'"}  # every answer's headers


class Stopped(Exception):
    """The run was stopped: by its client's Stop, or because its client went away."""


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
        server.closing.set()  # the runs in progress end at their next step
        server.server_close()


def page_policy(html):
    """The page's content security policy: its own inline style and script, named by their hashes, and requests
    to its own server; nothing else runs, loads or frames it."""
    def hashes(tag):
        return " ".join("'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"
                        for text in re.findall(f"<{tag}>(.*?)</{tag}>", html, re.S))
    return (f"default-src 'none'; script-src {hashes('script')}; style-src {hashes('style')}; connect-src 'self'; img-src data:; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


def most_connections():
    """MOST_CONNECTIONS, or fewer where the process may open few files (each connection is one)."""
    try:
        import resource
        files = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError):
        return MOST_CONNECTIONS
    if files == resource.RLIM_INFINITY:
        return MOST_CONNECTIONS
    return max(1, min(MOST_CONNECTIONS, files // 2 - 16))  # the rest for the process's own files


class Server(ThreadingHTTPServer):
    daemon_threads = True  # a run still going when the server stops does not keep the process alive
    request_queue_size = 64  # connections the system holds until they are accepted (socketserver's default is 5)

    def __init__(self, port, model, parser, answer):
        super().__init__(("127.0.0.1", port), Handler)
        self.model, self.parser, self.answer = model, parser, answer
        self.turn = threading.Lock()  # one computation at a time
        self.queue = threading.BoundedSemaphore(WAITING + 1)  # the run in progress and those waiting
        self.closing = threading.Event()  # the server is stopping: every run ends
        self.runs = {}  # Run-Id -> the Event that stops that run
        self.counting = threading.Lock()  # guards self.runs and self.connections
        self.connections, self.most_connections = 0, most_connections()
        config = model.config
        self.empty_page = page({"live": True, "model": model.name, "json": None, "form": form(parser),
                                "config": {k: getattr(config, k) for k in ("n_layer", "n_head", "n_embd", "n_ctx",
                                                                           "vocab_size")}}).encode("utf-8")
        self.page_policy = page_policy(self.empty_page.decode("utf-8"))

    def get_request(self):
        try:
            return super().get_request()
        except OSError as e:  # no file left for a new connection: wait for one to close, rather than spin
            if e.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                time.sleep(0.1)
            raise

    def process_request(self, request, client_address):
        with self.counting:
            full = self.connections >= self.most_connections
            self.connections += not full
        if not full:
            return super().process_request(request, client_address)
        with contextlib.suppress(OSError):  # too many open: said at once, without a thread
            refuse_on(request, 503, "the server has too many connections open: try again soon", "Retry-After: 5")
        self.shutdown_request(request)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.counting:
                self.connections -= 1

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], OSError):  # the client reset or stalled: its doing, not the server's
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # every answer says Connection: close; one request per connection
    default_request_version = "HTTP/1.1"  # a request line that cannot be read is answered as HTTP/1.1 too
    ROUTES = {"/": {"GET": "send_page", "HEAD": "send_page"}, "/api/run": {"POST": "run"},
              "/api/page": {"POST": "events"}, "/api/lens": {"POST": "lens"}, "/api/head": {"POST": "head_map"},
              "/api/heads": {"POST": "small_maps"}, "/api/stop": {"POST": "stop"}}

    def setup(self):
        super().setup()
        self.connection.settimeout(REQUEST_SECONDS + WRITE_SECONDS)  # a last bound: the deadlines below come first
        self.arrival, self.head = threading.Lock(), "awaited"  # then "arrived", or "late" (too_late answered it)
        self.timer = threading.Timer(REQUEST_SECONDS, self.too_late)  # readline waits for each line, not for all
        self.timer.daemon = True
        self.timer.start()
        self.stopping, self.streaming, self.probed, self.gone = threading.Event(), False, False, False

    def finish(self):
        self.timer.cancel()
        with contextlib.suppress(OSError):
            super().finish()

    def too_late(self):
        with self.arrival:
            if self.head == "arrived":
                return
            self.head = "late"
        with contextlib.suppress(OSError):
            refuse_on(self.connection, 408, f"the request did not arrive within {REQUEST_SECONDS} s")
            self.connection.shutdown(socket.SHUT_RDWR)

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def __getattr__(self, name):  # every other method: 405
        if name.startswith("do_"):
            return lambda: self.route(name[3:])
        raise AttributeError(name)

    def route(self, method):
        started, path = time.monotonic(), ""
        with self.arrival:
            if self.head == "late":  # too_late has answered
                return
            self.head = "arrived"
        try:
            self.length = self.check_framing()
            path = self.check_target()
            self.check_host()
            if path not in self.ROUTES:
                raise Refused(404, f"there is nothing at {path[:100]}: the page is at /, its API at /api/run")
            methods = self.ROUTES[path]
            if method not in methods:
                raise Refused(405, f"{path} takes {' or '.join(methods)}, not {method[:20]}", {"Allow": ", ".join(methods)})
            if method == "POST":
                self.check_sender()
            getattr(self, methods[method])()
        except Refused as e:
            self.answer_refusal(e)
        except (ConnectionError, socket.timeout):  # the client went away, or stopped reading: nobody to answer
            pass
        except Exception as e:  # noqa: BLE001 -- a bug: said to the client and on the console, and the server goes on
            traceback.print_exc()
            with contextlib.suppress(OSError):
                self.send_json(500, {"error": f"the server failed on this request ({type(e).__name__}: {e}); "
                                              "its console shows where"})
        if path.startswith("/api/"):
            print(f"{method} {path[:40]} {time.monotonic() - started:.2f} s", file=sys.stderr, flush=True)

    def answer_refusal(self, e):
        with contextlib.suppress(ConnectionError, socket.timeout):
            self.send_json(e.status, {"error": str(e)}, e.headers)

    def send_error(self, code, message=None, explain=None):
        """http.server's own refusals (a request line or headers it cannot read), as this server's other answers."""
        self.close_connection = True
        sentence = {400: "the request line is not HTTP's (METHOD /path HTTP/1.1)", 414: "the request's address is too long",
                    431: "the request's headers are too long or too many", 505: "this server speaks HTTP/1.0 and 1.1"}
        self.answer_refusal(Refused(code, sentence.get(code, message or "the request cannot be read")))

    def check_framing(self):
        """What RFC 9112 tells a server to refuse; returns the body's length (None: no Content-Length)."""
        if len(self.headers.get_all("Host") or []) != 1:
            raise Refused(400, "a request names its host in one Host header")
        lengths = [v.strip(" \t") for v in self.headers.get_all("Content-Length") or []]
        if self.headers.get_all("Transfer-Encoding"):
            if lengths:
                raise Refused(400, "a request has a Content-Length or a Transfer-Encoding, not both")
            raise Refused(411, "send the body with a Content-Length: Transfer-Encoding is not taken here")
        if not lengths:
            return None
        if len(lengths) > 1:
            raise Refused(400, "a request has one Content-Length")
        if not re.fullmatch(r"[0-9]+", lengths[0]):
            raise Refused(400, f"Content-Length is a number of bytes, not {quoted(lengths[0])}")
        if len(lengths[0]) > 9 or int(lengths[0]) > LARGEST_BODY:
            raise Refused(413, f"a request is at most {LARGEST_BODY} bytes; this one is {quoted(lengths[0])}")
        return int(lengths[0])

    def check_target(self):
        """The path a request asks for: its target is a path, or an absolute address naming this server."""
        target = self.path
        if re.match(r"(?i)https?://", target):
            try:
                parts = urlsplit(target)
                port = parts.port
            except ValueError:
                raise Refused(400, f"the request's target is not an address: {quoted(target)}") from None
            if (parts.hostname, port) not in (("127.0.0.1", self.server.server_port), ("localhost", self.server.server_port)):
                raise Refused(400, f"this server answers only for 127.0.0.1:{self.server.server_port}, not {quoted(parts.netloc)}")
            target = parts.path or "/"
        if not target.startswith("/"):
            raise Refused(400, f"the request's target is a path such as /api/run, not {quoted(target)}")
        return target.split("?", 1)[0]

    def check_host(self):
        port = self.server.server_port
        if self.headers.get("Host").strip(" \t") not in (f"127.0.0.1:{port}", f"localhost:{port}"):
            raise Refused(403, f"this server answers only requests to 127.0.0.1:{port} or localhost:{port}")

    def check_sender(self):
        """A POST from another site's page is refused, whatever form it takes."""
        origin, port = self.headers.get("Origin"), self.server.server_port
        if (origin is not None and origin not in (f"http://127.0.0.1:{port}", f"http://localhost:{port}")
                or self.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none")):
            raise Refused(403, f"requests from other pages are refused: the page is the one at http://127.0.0.1:{port}/")
        if (self.headers.get("Content-Type") or "").split(";")[0].strip(" \t").lower() != "application/json":
            raise Refused(415, "the API takes a JSON body sent as Content-Type: application/json")

    def body(self):
        """The request's JSON object, its bytes read within what is left of REQUEST_SECONDS."""
        if self.length is None:
            raise Refused(411, "a request needs a Content-Length")
        data, deadline = b"", time.monotonic() + REQUEST_SECONDS
        while len(data) < self.length:
            self.connection.settimeout(max(0.001, deadline - time.monotonic()))
            try:
                chunk = self.rfile.read1(self.length - len(data))
            except socket.timeout:
                raise Refused(408, f"the request's body did not arrive within {REQUEST_SECONDS} s: {len(data)} of its "
                                   f"{self.length} bytes came") from None
            if not chunk:
                raise Refused(400, f"the request's body ended after {len(data)} of its {self.length} bytes")
            data += chunk
        self.connection.settimeout(REQUEST_SECONDS + WRITE_SECONDS)
        try:
            return json.loads(data.decode("utf-8"), parse_constant=not_json)
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
        self.send(200, self.server.empty_page, "text/html; charset=utf-8",
                  {"Content-Security-Policy": self.server.page_policy})

    def run(self):
        args, _ = self.parsed(self.body())
        self.send_json(200, self.answered(args, lambda report, shown: report))

    def answered(self, args, part):
        """part(report, shown) of one run in its turn, under its Run-Id; a stopped run is 409, or nothing if its
        client has gone."""
        try:
            with self.named_run(), self.turn():
                return part(*self.answer(args))
        except Stopped:
            if self.client_gone():
                raise ConnectionResetError from None  # nobody to answer: route() lets it go
            raise Refused(409, "the run was stopped (a Stop asked for it) before it finished") from None

    def events(self):
        request = self.body()
        if not isinstance(request, dict) or set(request) - {"options", "watch", "answer_only", "lens"}:
            raise Refused(400, 'the page asks with {"options": {...}, "watch": [token ids], "answer_only": false, '
                               '"lens": true}')
        if not all(isinstance(request.get(flag, False), bool) for flag in ("answer_only", "lens")):
            raise Refused(400, "answer_only and lens are true or false")
        (args, argv), watch = self.parsed(request.get("options")), request.get("watch", [])
        answer_only, with_lens = request.get("answer_only", False), request.get("lens", True)
        if answer_only:  # a click's first answer: the tools and experiments come in the full run after it
            self.without_tools(args)
        vocab_size = self.server.model.config.vocab_size
        if not (isinstance(watch, list) and len(watch) <= 10 and all(type(i) is int and 0 <= i < vocab_size for i in watch)):
            raise Refused(400, f"watch is a list of at most 10 token ids below {vocab_size}")
        def event(item):
            if not self.streaming:  # a mistake found before the stream began is a 400 instead
                self.send_head(200, "application/x-ndjson")
                self.connection.settimeout(WRITE_SECONDS)
                self.streaming = True
            self.wfile.write(json.dumps(item, allow_nan=False).encode("utf-8") + b"\n")
        try:
            with self.named_run(), self.turn():
                report, shown = self.answer(args, event)
                if answer_only:
                    event({"answer": answer_data(args.prompt, shown, self.server.model, report, watch)})
                else:
                    event({"page": page_data(args, shown, self.server.model, report, self.command_line(argv), watch,
                                             live=True, progress=self.progress(event), with_lens=with_lens)})
        except Stopped:
            if not self.client_gone():
                event({"stopped": True})
        except (ConnectionError, socket.timeout):
            raise
        except Exception as e:  # noqa: BLE001 -- once the stream began, a failure is its last event, not a 2nd answer
            if not self.streaming:
                raise
            if not isinstance(e, Refused):
                traceback.print_exc()
            event({"error": str(e) if isinstance(e, Refused) else
                   f"the server failed during this run ({type(e).__name__}: {e}); its console shows where"})

    def lens(self):
        request = self.body()
        if not isinstance(request, dict) or set(request) != {"options"}:
            raise Refused(400, 'the lens is asked with {"options": {...}}, the options of the run it belongs to')
        self.send_json(200, self.of_the_prompt(request["options"], lambda shown: lens_data(
            probed(shown, self.server.model), shown, self.server.model, self.progress(None))))

    def head_map(self):
        answer = lambda seen, r: {"map": head_map(seen.attention, r["block"], r["head"], r["first"])}  # noqa: E731
        self.send_json(200, self.maps_asked(True, answer))

    def small_maps(self):
        answer = lambda seen, r: small_maps(seen.attention, r["block"], r["first"])  # noqa: E731
        self.send_json(200, self.maps_asked(False, answer))

    def maps_asked(self, one_head, answer):
        """answer(probe, request) for a request naming a block, a first position and (one_head) a head, checked."""
        request, config = self.body(), self.server.model.config
        limits = {"block": config.n_layer, **({"head": config.n_head} if one_head else {}), "first": config.n_ctx}
        if not (isinstance(request, dict) and set(request) == {"options", *limits}
                and all(type(request[k]) is int and 0 <= request[k] < n for k, n in limits.items())):
            what, head = (("a head's map is", f'"head": 0 to {config.n_head - 1}, ') if one_head
                          else ("a block's small maps are", ""))
            raise Refused(400, f'{what} asked with {{"options": {{...}}, "block": 0 to {config.n_layer - 1}, {head}'
                               f'"first": a position}}')

        def of(shown):
            if request["first"] >= len(shown.window):
                raise Refused(400, f"first is a position of the prompt's {len(shown.window)}")
            return answer(probed(shown, self.server.model), request)
        return self.of_the_prompt(request["options"], of)

    def of_the_prompt(self, options, part):
        """part(shown) of the prompt's run with these options, without its tools and its continuation."""
        args, _ = self.parsed(options)
        self.without_tools(args)
        args.max_new_tokens, args.score = 0, False  # the prompt's run alone
        return self.answered(args, lambda report, shown: part(shown))

    def without_tools(self, args):
        """args without the tools and experiments (the options the parser marks as reading the prompt)."""
        for action in self.server.parser._actions:  # noqa: SLF001 -- argparse keeps no other public list
            if getattr(action, "reads", None):
                setattr(args, action.dest, action.default)
        args.reading = {}

    def stop(self):
        request = self.body()
        if not (isinstance(request, dict) and set(request) == {"run"} and isinstance(request["run"], str)):
            raise Refused(400, 'a Stop names its run: {"run": the Run-Id its request was sent with}')
        with self.server.counting:
            stopping = self.server.runs.get(request["run"])
        if stopping is not None:
            stopping.set()
        self.send_json(200, {"stopped": stopping is not None})

    @contextlib.contextmanager
    def named_run(self):
        """The run under the name its client gave it (the header Run-Id), by which a Stop finds it."""
        name = self.headers.get("Run-Id")
        if name is None:
            yield
            return
        if not RUN_ID.fullmatch(name):
            raise Refused(400, "Run-Id is 8 to 64 letters, digits, - or _: a name the client chose for its run")
        with self.server.counting:
            if name in self.server.runs:
                raise Refused(409, f"a run named {name} is under way already")
            self.server.runs[name] = self.stopping
        try:
            yield
        finally:
            with self.server.counting:
                del self.server.runs[name]

    def answer(self, args, event=None):
        """main.answer for these options; event gets each piece of the continuation and each step of a grid."""
        def on_text(text):
            self.tick()
            if event and text:
                event({"token": True, "text": text})
        watch = Watch(text=on_text, step=lambda *step: self.tick(), progress=self.progress(event), stop=self.tick,
                      note=lambda sentence: event and event({"note": sentence}))
        try:
            return self.server.answer(args, self.server.model, watch)
        except UsageError as e:
            raise Refused(400, str(e)) from None
        except ModelError as e:  # the model cannot answer this (its weights overflow): the server's fault, not the request's
            raise Refused(500, str(e)) from None

    def tick(self):
        """Called between steps of the run: it ends there once its Stop came, the server is closing, or the client
        went away."""
        if self.stopping.is_set() or self.server.closing.is_set() or self.client_gone():
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
            while not self.server.turn.acquire(timeout=0.1):
                self.tick()  # stopped, or its client gone, while it waits: it leaves the queue
            try:
                self.tick()
                yield
            finally:
                self.server.turn.release()
        finally:
            self.server.queue.release()

    def client_gone(self):
        """True once the client has closed its connection. A closed connection reads as empty, but so does one whose
        client closed only its sending half (shutdown(SHUT_WR)) and waits for the answer: an empty read is followed
        by a probe that such a client skips (an interim 100 Continue, or an empty line of the page's stream) and that
        a closed connection answers with a reset."""
        if self.gone:
            return True
        try:
            poll = select.poll()
            poll.register(self.connection, select.POLLIN)
            if not poll.poll(0) or self.connection.recv(1, socket.MSG_PEEK) != b"":
                return False
            if self.request_version != "HTTP/1.1":  # no interim answers for HTTP/1.0: it left
                self.gone = True
            elif not self.probed:
                self.connection.sendall(b"\n" if self.streaming else b"HTTP/1.1 100 Continue\r\n\r\n")
                self.probed = True
                time.sleep(0.01)  # the reset comes back at once over the loopback
            self.gone = self.gone or self.connection.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0
        except OSError:
            self.gone = True
        return self.gone

    def command_line(self, argv):
        """The command line that gives the same run in a terminal (argv: as_argv's, its prompt last)."""
        *options, _, prompt = argv
        words = [*options, "--model", self.server.model.name]
        words = [*words, "--", prompt] if prompt.startswith("-") else [prompt, *words]
        return shlex.join([typed_command("./run.sh"), *words])

    def send_json(self, status, value, headers=()):
        self.send(status, json.dumps(value, allow_nan=False).encode("utf-8"), "application/json", headers)

    def send_head(self, status, content_type, headers=()):
        self.send_response(status)
        for name, value in {**SHARED, "Content-Type": content_type, **dict(headers)}.items():
            self.send_header(name, value)
        self.end_headers()

    def send(self, status, body, content_type, headers=()):
        self.send_head(status, content_type, {"Content-Length": str(len(body)), **dict(headers)})
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format, *args):  # one line per API request instead, in route()
        pass


def refuse_on(connection, status, sentence, *headers):
    """A refusal written straight to a connection, where no handler can answer: none runs yet (too many
    connections), or its own is still waiting for the request (too late)."""
    body = json.dumps({"error": sentence}).encode("utf-8")
    head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", "Content-Type: application/json", *headers,
            "Connection: close", f"Content-Length: {len(body)}"]
    connection.sendall("\r\n".join(head).encode("ascii") + b"\r\n\r\n" + body)


def not_json(constant):
    raise ValueError(f"{constant} is not a JSON number")
