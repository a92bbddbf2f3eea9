"""The live server's defences: what it refuses before and around any run, apart from its routes (server.py).

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

A client's behaviour (a reset, a stall) is never printed as the server's failure.

GuardedServer counts the connections; GuardedHandler frames, checks and answers each request, and hands a request
that passed to the route its subclass names in ROUTES. A route raises Refused for a status and its sentence.
"""
import base64
import contextlib
import errno
import hashlib
import json
import re
import select
import socket
import sys
import threading
import time
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from plumbing.option_types import quoted

LARGEST_BODY = 1 << 20  # bytes
MOST_CONNECTIONS = 32  # open at once, at most
REQUEST_SECONDS = 10  # for a request to arrive, head and body
WRITE_SECONDS = 5  # a client that reads nothing of its answer for this long is let go
SHARED = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Cache-Control": "no-store",
          "Referrer-Policy": "no-referrer", "Cross-Origin-Resource-Policy": "same-origin", "Connection": "close",
          "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'"}  # every answer's headers


class Refused(Exception):
    def __init__(self, status, sentence, headers=()):
        super().__init__(sentence)
        self.status, self.headers = status, dict(headers)


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


class GuardedServer(ThreadingHTTPServer):
    daemon_threads = True  # a run still going when the server stops does not keep the process alive
    request_queue_size = 64  # connections the system holds until they are accepted (socketserver's default is 5)

    def __init__(self, port, handler):
        super().__init__(("127.0.0.1", port), handler)
        self.counting = threading.Lock()  # guards self.connections (and the subclass's own counts)
        self.connections, self.most_connections = 0, most_connections()

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


class GuardedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # every answer says Connection: close; one request per connection
    default_request_version = "HTTP/1.1"  # a request line that cannot be read is answered as HTTP/1.1 too
    ROUTES = {}  # path -> {method: the name of the handler's method that answers it}: the subclass's

    def setup(self):
        super().setup()
        self.connection.settimeout(REQUEST_SECONDS + WRITE_SECONDS)  # a last bound: the deadlines below come first
        self.arrival, self.head = threading.Lock(), "awaited"  # then "arrived", or "late" (too_late answered it)
        self.timer = threading.Timer(REQUEST_SECONDS, self.too_late)  # readline waits for each line, not for all
        self.timer.daemon = True
        self.timer.start()
        self.streaming, self.probed, self.gone = False, False, False
        self.ended = ""  # how a run ended, if not by finishing: the console's line says it
        self.notes = []  # what the terminal would note of a run (/api/run answers them under "notes")

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
            self.ended = ", stopped: its client went away"
        except Exception as e:  # noqa: BLE001 -- a bug: said to the client and on the console, and the server goes on
            traceback.print_exc()
            with contextlib.suppress(OSError):
                self.send_json(500, {"error": f"the server failed on this request ({type(e).__name__}: {e}); "
                                              "its console shows where"})
        if path.startswith("/api/"):
            print(f"{method} {path[:40]} {time.monotonic() - started:.2f} s{self.ended}", file=sys.stderr, flush=True)

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
            return json.loads(data.decode("utf-8"), parse_constant=not_json, parse_int=whole, object_pairs_hook=once)
        except Refused:
            raise
        except (UnicodeDecodeError, ValueError, RecursionError) as e:
            raise Refused(400, f"the request is not JSON: {(str(e).splitlines() or [type(e).__name__])[0][:200]}") from None

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

    def start_stream(self, content_type):
        """The head of an answer whose body comes in pieces as the run goes, each read within WRITE_SECONDS."""
        self.send_head(200, content_type)
        self.connection.settimeout(WRITE_SECONDS)
        self.streaming = True

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


def whole(digits):
    """A JSON whole number, refused past 18 digits in the API's words (Python's int() stops at 4300, in its own)."""
    if len(digits.lstrip("-")) > 18:
        raise Refused(400, f"the request holds a number of {len(digits.lstrip('-'))} digits: give whole numbers below 10**18")
    return int(digits)


def once(pairs):
    """A JSON object whose keys are each given once: {"prompt": "a", "prompt": "b"} is refused, not read as "b"."""
    seen = set()
    for key, _ in pairs:
        if key in seen:
            raise Refused(400, f"the request gives {json.dumps(key)[:40]} twice: give each key once")
        seen.add(key)
    return dict(pairs)


def not_json(constant):
    raise ValueError(f"{constant} is not a JSON number")
