"""--serve: the live page, on 127.0.0.1, served by the standard library's http.server.

The model is loaded once; every request is a run of main.py's own chain (main.one_run), its options
turned into the command line they stand for (arguments.as_argv) and checked by the command line's own
checks, so a mistake gets the sentence the terminal would print. The routes:

  GET  /            the page (page.html, page.css and js/ beside this file), with no run in it. Its address may
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
                    L from position F on, each made small (data.small_maps), for the same long prompt
  POST /api/why     {"options": ..., "block": L, "head": H, "query": Q, "key": K} -> why head L.H looks from Q to K in
                    that run: instruments/why_attends.py's table and composition scores, as --why-attends gives them,
                    and "arithmetic": every head of block L at query Q (anatomy.arithmetic), for its panel
  POST /api/stop    {"run": RUN_ID} -> the run its client named with the header Run-Id stops at its next step,
                    and no other: /api/run then answers 409 and its sentence, /api/page ends its events with
                    {"stopped": true}; neither is a failure. A client that closes its connection stops its run too

One computation at a time: the model and the cores are shared. A request waits its turn, behind at most WAITING
others; beyond, 503 with Retry-After. A run stops at its next step (a generated token, a block of a grid, a window
of scoring) when its Stop comes or its client goes away, and the server goes on. What it refuses before any of
this, and why (the framing, the origin, the timers, the connection limits), is guard.py's.
"""
import contextlib
import errno
import json
import re
import shlex
import socket
import threading
import traceback

from config import ModelError
from instruments.page.anatomy import arithmetic
from instruments.page.data import Asked, answer_data, head_map, lens_data, page_data, probed, small_maps
from instruments.page.guard import GuardedHandler, GuardedServer, Refused, page_policy
from instruments.page.report import page
from instruments.why_attends import why_attends
from plumbing.arguments import UsageError, parse_args, typed_command
from plumbing.page_options import as_argv, form
from plumbing.process import ServeError
from plumbing.watch import Watch

WAITING = 4  # requests that may wait for their turn
MOST_SHOWN = 100  # show_top at most
RUN_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


class Stopped(Exception):
    """The run was stopped: by its client's Stop, or because its client went away."""


def serve(model, port, parser, one_run):
    """Serve the page until Ctrl-C (or kill); one_run is main.one_run, the chain every request runs."""
    try:
        server = Server(port, model, parser, one_run)
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


class Server(GuardedServer):
    def __init__(self, port, model, parser, one_run):
        super().__init__(port, Handler)
        self.model, self.parser, self.one_run = model, parser, one_run
        self.turn = threading.Lock()  # one computation at a time
        self.queue = threading.BoundedSemaphore(WAITING + 1)  # the run in progress and those waiting
        self.closing = threading.Event()  # the server is stopping: every run ends
        self.runs = {}  # Run-Id -> the Event that stops that run (guarded by self.counting)
        config = model.config
        self.empty_page = page({"live": True, "model": model.name, "json": None, "form": form(parser),
                                "config": {k: getattr(config, k) for k in ("n_layer", "n_head", "n_embd", "n_ctx",
                                                                           "vocab_size")}}).encode("utf-8")
        self.page_policy = page_policy(self.empty_page.decode("utf-8"))


class Handler(GuardedHandler):
    ROUTES = {"/": {"GET": "send_page", "HEAD": "send_page"}, "/api/run": {"POST": "run"},
              "/api/page": {"POST": "events"}, "/api/lens": {"POST": "lens"}, "/api/head": {"POST": "head_map"},
              "/api/heads": {"POST": "small_maps"}, "/api/why": {"POST": "why"}, "/api/stop": {"POST": "stop"}}

    def setup(self):
        super().setup()
        self.stopping = threading.Event()  # set by this run's Stop

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
        report = self.in_turn(args, lambda run: run.report)
        self.send_json(200, {**report, "notes": self.notes} if self.notes else report)  # the terminal's notes

    def in_turn(self, args, part):
        """part(the run, a main.Run) of one run in its turn, under its Run-Id; a stopped run is 409, or nothing if its
        client has gone."""
        try:
            with self.named_run(), self.turn():
                return part(self.run_chain(args))
        except Stopped:
            self.ended = ", stopped: its client went away" if self.client_gone() else ", stopped"
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
                self.start_stream("application/x-ndjson")
            self.wfile.write(json.dumps(item, allow_nan=False).encode("utf-8") + b"\n")
        try:
            with self.named_run(), self.turn():
                run = self.run_chain(args, event)
                if answer_only:
                    event({"answer": answer_data(run, self.server.model, watch)})
                else:
                    asked = Asked(live=True, progress=self.progress(event), lens=with_lens)
                    event({"page": page_data(run, self.server.model, self.command_line(argv), watch, asked)})
        except Stopped:
            self.ended = ", stopped: its client went away" if self.client_gone() else ", stopped"
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
        self.send_json(200, self.of_the_prompt(request["options"], lambda run: lens_data(
            probed(run, self.server.model), run, self.server.model, self.progress(None))))

    def head_map(self):
        part = lambda seen, r: {"map": head_map(seen.attention, r["block"], r["head"], r["first"])}  # noqa: E731
        self.send_json(200, self.maps_asked(True, part))

    def small_maps(self):
        part = lambda seen, r: small_maps(seen.attention, r["block"], r["first"])  # noqa: E731
        self.send_json(200, self.maps_asked(False, part))

    def why(self):
        request, config = self.body(), self.server.model.config
        limits = {"block": config.n_layer, "head": config.n_head, "query": config.n_ctx, "key": config.n_ctx}
        if not (isinstance(request, dict) and set(request) == {"options", *limits}
                and all(type(request[k]) is int and 0 <= request[k] < n for k, n in limits.items())):
            raise Refused(400, f'why a head attends is asked with {{"options": {{...}}, "block": 0 to {config.n_layer - 1}, '
                               f'"head": 0 to {config.n_head - 1}, "query": a position, "key": one at or before it}}')

        def of(run):
            query, key = request["query"], request["key"]
            if query >= len(run.window) or key > query:
                raise Refused(400, f"query is a position of the prompt's {len(run.window)}, and key one at or before it")
            seen = probed(run, self.server.model)
            return {**why_attends(seen, run.params, config, request["block"], request["head"], query, key)._asdict(),
                    "arithmetic": arithmetic(seen, request["block"], query)}
        self.send_json(200, self.of_the_prompt(request["options"], of))

    def maps_asked(self, one_head, part):
        """part(probe, request) for a request naming a block, a first position and (one_head) a head, checked."""
        request, config = self.body(), self.server.model.config
        limits = {"block": config.n_layer, **({"head": config.n_head} if one_head else {}), "first": config.n_ctx}
        if not (isinstance(request, dict) and set(request) == {"options", *limits}
                and all(type(request[k]) is int and 0 <= request[k] < n for k, n in limits.items())):
            what, head = (("a head's map is", f'"head": 0 to {config.n_head - 1}, ') if one_head
                          else ("a block's small maps are", ""))
            raise Refused(400, f'{what} asked with {{"options": {{...}}, "block": 0 to {config.n_layer - 1}, {head}'
                               f'"first": a position}}')

        def of(run):
            if request["first"] >= len(run.window):
                raise Refused(400, f"first is a position of the prompt's {len(run.window)}")
            return part(probed(run, self.server.model), request)
        return self.of_the_prompt(request["options"], of)

    def of_the_prompt(self, options, part):
        """part(run) of the prompt's run with these options, without its tools and its continuation."""
        args, _ = self.parsed(options)
        self.without_tools(args)
        args.max_new_tokens, args.score = 0, False  # the prompt's run alone
        return self.in_turn(args, part)

    def without_tools(self, args):
        """args without the tools and experiments (the options the parser marks as reading the prompt)."""
        for action in self.server.parser._actions:  # noqa: SLF001 -- argparse keeps no other public list
            if getattr(action, "reads", None):
                setattr(args, action.dest, action.default)
        args.reading, args.following = {}, []

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

    def run_chain(self, args, event=None):
        """main.one_run for these options; event gets each piece of the continuation and each step of a grid."""
        def on_text(text):
            self.tick()
            if event and text:
                event({"token": True, "text": text})
        watch = Watch(text=on_text, step=lambda *step: self.tick(), progress=self.progress(event), stop=self.tick,
                      note=lambda sentence: event({"note": sentence}) if event else self.notes.append(sentence))
        try:
            return self.server.one_run(args, self.server.model, watch)
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

    def command_line(self, argv):
        """The command line that gives the same run in a terminal (argv: as_argv's, its prompt last)."""
        *options, _, prompt = argv
        words = [*options, "--model", self.server.model.name]
        words = [*words, "--", prompt] if prompt.startswith("-") else [prompt, *words]
        return shlex.join([typed_command("./run.sh"), *words])
