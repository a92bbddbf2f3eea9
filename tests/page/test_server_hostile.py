"""The live server off the happy path: requests written by hand, as a careless client, a hostile page or a
slow network would send them. Each gets its status and one sentence, or is let go within its bounds; the
server never prints a traceback for a client's behaviour, never spins, and serves the next request.

Most tests drive a server in this process (the tiny model, the time bounds shortened so that a test waits
a second, not ten); the rest drive main.py --serve as a user starts it.
"""
import contextlib
import json
import os
import re
import resource
import socket
import socketserver
import sys
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import TINY, Served

OURS = "Host: 127.0.0.1:{port}"
JSON_TYPE = "Content-Type: application/json"
GOOD = b'{"prompt": "hi", "max_new_tokens": 1}'


class InProcess:
    """instruments/page/server.py's Server in a thread of this process, on a port the system picks. runs counts the
    runs it began; failures holds what it would have printed as its own failure."""

    def __init__(self, model):
        import main
        from instruments.page import server
        self.runs, self.failures = [], []

        def counted(*args, **kwargs):
            self.runs.append(args[0].prompt)
            return main.one_run(*args, **kwargs)
        self.server = server.Server(0, model, main.command_line(), counted)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def quick():
    """The in-process server, with REQUEST_SECONDS and WRITE_SECONDS of 1 s; print_exc calls are failures."""
    from instruments.page import guard
    from load import load_checkpoint
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(guard, "REQUEST_SECONDS", 1)
        patch.setattr(guard, "WRITE_SECONDS", 1)
        served = InProcess(load_checkpoint(TINY, TINY))
        patch.setattr(guard.traceback, "print_exc", lambda *a, **k: served.failures.append("print_exc"))
        patch.setattr(socketserver.BaseServer, "handle_error",  # what the server prints of a failure it did not catch
                      lambda self, request, address: served.failures.append(repr(sys.exc_info()[1])))
        yield served
        served.close()


@pytest.fixture
def fresh(quick):
    """quick, with what it counted cleared; after the test, no failure was printed and a good request is served."""
    quick.runs.clear()
    quick.failures.clear()
    yield quick
    assert quick.failures == []
    assert exchange(quick, post("/api/run", GOOD, quick.port)).startswith(b"HTTP/1.1 200")


def post(path, body, port, *headers):
    return (f"POST {path} HTTP/1.1\r\n{OURS.format(port=port)}\r\n{JSON_TYPE}\r\nContent-Length: {len(body)}\r\n"
            + "".join(h + "\r\n" for h in headers) + "\r\n").encode() + body


def exchange(served, request, half_close=False, timeout=30):
    """What the server answers to the bytes of request, read until it closes the connection."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=timeout) as s:
        s.sendall(request)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
        return answer


def status_and_error(answer):
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)["error"] if body else None


FRAMINGS = [
    # (the request, up to its body, with {port} for the server's; status; sentence)
    ("GET / HTTP/1.1\r\n\r\n", 400, "a request names its host in one Host header"),
    ("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: 127.0.0.1:{port}\r\n\r\n", 400, "in one Host header"),
    ("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: evil.example\r\n\r\n", 400, "in one Host header"),
    ("GET http://evil.example/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n", 400,
     "this server answers only for 127.0.0.1:{port}, not 'evil.example'"),
    ("GET http://127.0.0.1:1/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n", 400, "not '127.0.0.1:1'"),
    ("GET http://[/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n", 400, "the request's target is not an address: 'http://[/'"),
    ("GET http://127.0.0.1:99999999/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n", 400, "is not an address"),
    ("OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n", 400, "the request's target is a path such as /api/run, not '*'"),
    ("CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n", 400, "not '127.0.0.1:22'"),
    ("POST /api/run HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
     "a Content-Length or a Transfer-Encoding, not both"),
    ("POST /api/run HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411,
     "send the body with a Content-Length"),
    ("POST /api/run HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}", 400,
     "a request has one Content-Length"),
    ("POST /api/run HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 3_5\r\n\r\n", 400,
     "Content-Length is a number of bytes, not '3_5'"),
    ("POST /api/run HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: +2\r\n\r\n{}", 400, "not '+2'"),
    ("POST /api/run HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: -5\r\n\r\n", 400, "not '-5'"),
    ("POST /api/run HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0x10\r\n\r\n", 400, "not '0x10'"),
    ("POST /api/run HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: \u0663\r\n\r\n", 400, "a number of bytes"),
    ("POST /api/run HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: " + "9" * 5000 + "\r\n\r\n", 413,
     "a request is at most 1048576 bytes; this one is '" + "9" * 40 + "...'"),
    ("POST /api/run HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: 30\r\n\r\n{}",
     400, "the request's body ended after 2 of its 30 bytes"),
    ("GARBAGE\r\n\r\n", 400, "the request line is not HTTP's"),
    ("GET / HTTP/2.0\r\nHost: 127.0.0.1:{port}\r\n\r\n", 505, "this server speaks HTTP/1.0 and 1.1"),
    ("GET /" + "a" * 70000 + " HTTP/1.1\r\n\r\n", 414, "the request's address is too long"),
    ("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX: " + "a" * 70000 + "\r\n\r\n", 431, "the request's headers are too long"),
    ("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n" + "X: y\r\n" * 101 + "\r\n", 431, "too long or too many"),
]


@pytest.mark.parametrize("request_, status, sentence", FRAMINGS, ids=[f"{f[1]} {f[2][:40]}" for f in FRAMINGS])
def test_what_rfc_9112_refuses_is_refused_in_one_sentence(fresh, request_, status, sentence):
    answer = exchange(fresh, request_.replace("{port}", str(fresh.port)).encode(), half_close=True)
    assert answer.startswith(b"HTTP/1.1 %d " % status), answer[:300]
    assert sentence.replace("{port}", str(fresh.port)) in status_and_error(answer)[1]
    assert b"Connection: close" in answer and fresh.runs == []


def test_an_absolute_address_naming_this_server_is_served(fresh):
    answer = exchange(fresh, f"GET http://127.0.0.1:{fresh.port}/?prompt=hi HTTP/1.1\r\nHost: 127.0.0.1:{fresh.port}\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 200") and b"<!DOCTYPE html>" in answer


def test_head_gets_the_head_of_get_and_no_body(fresh):
    page = exchange(fresh, f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{fresh.port}\r\n\r\n".encode())
    head = exchange(fresh, f"HEAD / HTTP/1.1\r\nHost: 127.0.0.1:{fresh.port}\r\n\r\n".encode())
    length = int(re.search(rb"Content-Length: (\d+)", head)[1])
    assert head.endswith(b"\r\n\r\n") and length == len(page.partition(b"\r\n\r\n")[2]) > 10000
    refused = exchange(fresh, f"HEAD /api/run HTTP/1.1\r\nHost: 127.0.0.1:{fresh.port}\r\n\r\n".encode())
    assert refused.startswith(b"HTTP/1.1 405") and refused.endswith(b"\r\n\r\n") and b"Allow: POST" in refused


def headers_of(answer):
    head = answer.partition(b"\r\n\r\n")[0].decode()
    return dict(line.split(": ", 1) for line in head.split("\r\n")[1:])


@pytest.mark.parametrize("request_", [
    "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n",
    "GET /nothing HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n",
    "POST /api/run HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
    "GARBAGE\r\n\r\n",
], ids=["the page", "404", "403", "400", "http.server's own 400"])
def test_every_answer_forbids_framing_and_sniffing(fresh, request_):
    headers = headers_of(exchange(fresh, request_.replace("{port}", str(fresh.port)).encode()))
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_the_pages_policy_names_its_own_script_and_style_and_nothing_else(fresh):
    import base64
    import hashlib
    answer = exchange(fresh, f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{fresh.port}\r\n\r\n".encode())
    policy, html = headers_of(answer)["Content-Security-Policy"], answer.partition(b"\r\n\r\n")[2].decode()
    script = html.split("<script>")[1].split("</script>")[0]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}';" in policy and "unsafe" not in policy and "default-src 'none'" in policy
    assert " style=" not in html, "the policy refuses style attributes: the page has none"


SENDERS = [
    # headers of a POST that another site's page could make a browser send; status; sentence
    (["Origin: http://evil.example"], 403, "requests from other pages are refused"),
    (["Origin: null"], 403, "requests from other pages are refused"),  # a file:// page, a sandboxed frame
    (["Origin: http://127.0.0.1:1"], 403, "requests from other pages are refused"),
    (["Origin: http://127.0.0.1:{port}.evil.example"], 403, "requests from other pages are refused"),
    (["Sec-Fetch-Site: cross-site"], 403, "requests from other pages are refused"),
    (["Sec-Fetch-Site: same-site"], 403, "requests from other pages are refused"),
]
TYPES = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "", "application/jsonx",
         "text/plain; application/json"]


@pytest.mark.parametrize("path", ["/api/run", "/api/page", "/api/stop"])
@pytest.mark.parametrize("headers, status, sentence", SENDERS, ids=[s[0][0][:40] for s in SENDERS])
def test_no_page_of_another_site_can_start_or_stop_a_run(fresh, path, headers, status, sentence):
    body = {"/api/run": GOOD, "/api/page": b'{"options": {"prompt": "hi"}}', "/api/stop": b'{"run": "abcdefgh"}'}[path]
    answer = exchange(fresh, post(path, body, fresh.port, *[h.replace("{port}", str(fresh.port)) for h in headers]))
    assert status_and_error(answer) == (status, sentence + f": the page is the one at http://127.0.0.1:{fresh.port}/")
    assert fresh.runs == []


@pytest.mark.parametrize("content_type", TYPES)
def test_a_form_of_any_type_never_runs(fresh, content_type):
    """The bodies a page may send to another site without asking first; the same without any Origin (a browser
    always sends one with a POST, but older ones did not)."""
    request = post("/api/run", GOOD, fresh.port).replace(b"Content-Type: application/json",
                                                         f"Content-Type: {content_type}".encode())
    for origin in (b"", b"Origin: http://127.0.0.1:%d\r\n" % fresh.port):
        answer = exchange(fresh, request.replace(b"\r\n\r\n", b"\r\n" + origin + b"\r\n", 1))
        assert status_and_error(answer) == (415, "the API takes a JSON body sent as Content-Type: application/json")
    assert fresh.runs == []


def test_a_page_request_is_json_whatever_case_its_type_is_written_in(fresh):
    request = post("/api/run", GOOD, fresh.port).replace(b"application/json", b"Application/JSON; charset=utf-8")
    assert exchange(fresh, request).startswith(b"HTTP/1.1 200") and fresh.runs == ["hi"]


def test_a_request_that_does_not_arrive_in_time_is_408(fresh):
    head = exchange(fresh, b"POST /api/run HTTP/1.1\r\n")  # and nothing more
    assert status_and_error(head) == (408, "the request did not arrive within 1 s")
    with socket.create_connection(("127.0.0.1", fresh.port), timeout=30) as s:
        for byte in f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{fresh.port}\r\nX: ".encode():
            s.send(bytes([byte]))  # one byte at a time, each within the socket's timeout: the whole is late
            time.sleep(0.02)
        with contextlib.suppress(ConnectionError):
            s.send(b"a" * 100)
        assert s.recv(1000).startswith(b"HTTP/1.1 408")
    body = exchange(fresh, post("/api/run", GOOD, fresh.port)[:-5])  # its last 5 bytes never come
    assert status_and_error(body) == (408, f"the request's body did not arrive within 1 s: {len(GOOD) - 5} of its "
                                           f"{len(GOOD)} bytes came")
    assert fresh.runs == []


def test_a_client_that_closes_only_its_sending_half_gets_its_answer(fresh):
    answer = exchange(fresh, post("/api/run", GOOD, fresh.port), half_close=True)
    while answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"):  # the server's check that it is still there
        answer = answer[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
    assert answer.startswith(b"HTTP/1.1 200") and json.loads(answer.partition(b"\r\n\r\n")[2])["generated_ids"]
    page = exchange(fresh, post("/api/page", b'{"options": {"prompt": "hi", "max_new_tokens": 3}}', fresh.port),
                    half_close=True)
    lines = [line for line in page.partition(b"\r\n\r\n")[2].split(b"\n") if line]
    assert "page" in json.loads(lines[-1])


def test_a_client_that_resets_its_connection_is_not_a_failure(fresh):
    import struct
    for request in (post("/api/run", GOOD, fresh.port)[:-3], b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n", b"GET / HT"):
        s = socket.create_connection(("127.0.0.1", fresh.port))
        s.sendall(request)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # a reset, before or while the server answers
    time.sleep(0.5)


def test_a_client_that_stops_reading_its_stream_lets_the_model_go(fresh):
    """Its server-side socket buffer made small, so that an unread stream fills it within a few events."""
    from instruments.page import server
    original = server.Handler.setup

    def small_buffer(handler):
        original(handler)
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(server.Handler, "setup", small_buffer)
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", fresh.port))
            s.sendall(post("/api/page", b'{"options": {"prompt": "hi", "max_new_tokens": 60, "lens": true}}', fresh.port))
            polled(lambda: fresh.runs)  # its run began (and it never reads)
            # let go after WRITE_SECONDS (1 s here); held, the model would never be free for this one
            assert exchange(fresh, post("/api/run", GOOD, fresh.port)).startswith(b"HTTP/1.1 200")
            assert fresh.runs == ["hi", "hi"]


METHODS = st.sampled_from(["GET", "POST", "HEAD", "PUT", "OPTIONS", "DELETE", "get", "G\tT", ""])
TARGETS = st.one_of(st.sampled_from(["/", "/api/run", "/api/page", "/api/stop", "*", "//x/api/run", "/?a=b",
                                     "http://127.0.0.1:{port}/", "http://[::1]/", "http://x:y/", "/%00", "/\u00e9"]),
                    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FF), max_size=20))
HEADER = st.one_of(
    st.sampled_from(["Host: 127.0.0.1:{port}", "Host: localhost:{port}", "Host:", "Host: evil", JSON_TYPE,
                     "Content-Type: text/plain", "Origin: null", "Origin: http://127.0.0.1:{port}",
                     "Sec-Fetch-Site: cross-site", "Sec-Fetch-Site: none", "Transfer-Encoding: chunked",
                     "Transfer-Encoding: gzip, chunked", "Expect: 100-continue", "Connection: keep-alive",
                     "Run-Id: abcdefgh", "Run-Id: x", "Run-Id: \u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"]),
    st.from_regex(r"Content-Length: ?[0-9+\-_ a-fx]{0,8}", fullmatch=True),
    st.builds(lambda n, v: f"{n}: {v}", st.from_regex(r"[A-Za-z-]{1,12}", fullmatch=True),
              st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30)))
BODIES = st.one_of(st.just(b""), st.just(GOOD), st.just(b'{"run": "abcdefgh"}'), st.just(b'{"options": {"prompt": "a"}}'),
                   st.binary(max_size=40))
ANSWERED = {200, 400, 403, 404, 405, 408, 409, 411, 413, 414, 415, 431, 505}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=METHODS, target=TARGETS, headers=st.lists(HEADER, max_size=6), body=BODIES)
def test_any_framing_gets_a_status_and_a_sentence_never_a_failure(quick, method, target, headers, body):
    port = str(quick.port)
    head = f"{method} {target} HTTP/1.1\r\n".replace("{port}", port) + "".join(h.replace("{port}", port) + "\r\n" for h in headers)
    quick.failures.clear()
    answer = exchange(quick, head.encode("utf-8") + b"\r\n" + body, half_close=True)
    while answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"):
        answer = answer[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
    status, error = status_and_error(answer) if not answer.startswith(b"HTTP/1.1 200") else (200, None)
    assert status in ANSWERED and quick.failures == [], (answer[:300], quick.failures)
    if status != 200 and method != "HEAD":
        assert error and "\n" not in error and len(error) < 400


@pytest.fixture
def slow_served(slow_model):
    served = Served(slow_model)
    yield served
    code, stderr = served.stop()
    assert code == 130 and "Traceback" not in stderr, stderr


LONG = {"prompt": "hello " * 400, "max_new_tokens": 600}  # seconds on the slow model


def asking(served, options, run_id=None):
    """A thread asking /api/run for options; its answer lands in thread.answer."""
    def ask():
        thread.answer = served.request("POST", "/api/run", options, {"Run-Id": run_id} if run_id else {})
    thread = threading.Thread(target=ask)
    thread.start()
    return thread


def test_a_stop_stops_only_the_run_it_names(slow_served):
    first = asking(slow_served, LONG, "first-run")
    time.sleep(0.5)
    second = asking(slow_served, LONG, "second-run")  # waits for its turn
    time.sleep(0.3)
    assert slow_served.request("POST", "/api/stop", {"run": "no-such-run"})[2] == '{"stopped": false}'
    assert slow_served.request("POST", "/api/stop", {"run": "second-run"})[2] == '{"stopped": true}'
    second.join(timeout=10)
    assert second.answer[0] == 409 and first.is_alive(), "the waiting run ended; the first goes on"
    status, _, text = slow_served.request("POST", "/api/run", {"prompt": "hi"}, {"Run-Id": "first-run"})
    assert (status, json.loads(text)) == (409, {"error": "a run named first-run is under way already"})
    assert slow_served.request("POST", "/api/stop", {"run": "first-run"})[2] == '{"stopped": true}'
    first.join(timeout=10)
    assert first.answer[0] == 409


@pytest.mark.parametrize("body, run_id, sentence", [
    (None, None, "a request needs a Content-Length"),
    ({}, None, 'a Stop names its run: {"run": the Run-Id its request was sent with}'),
    ({"run": 5}, None, "a Stop names its run"),
    ({"run": "a", "and": "b"}, None, "a Stop names its run"),
    ({"prompt": "hi"}, "short", "Run-Id is 8 to 64 letters, digits, - or _"),
    ({"prompt": "hi"}, "with space in it", "Run-Id is 8 to 64"),
])
def test_a_stop_or_a_run_id_that_cannot_work_is_400(fresh, body, run_id, sentence):
    path = "/api/run" if run_id else "/api/stop"
    data = b"" if body is None else json.dumps(body).encode()
    request = post(path, data, fresh.port, *([f"Run-Id: {run_id}"] if run_id else []))
    if body is None:
        request = request.replace(b"Content-Length: 0\r\n", b"")
    status, error = status_and_error(exchange(fresh, request))
    assert status in (400, 411) and error.startswith(sentence) and fresh.runs == []


def test_a_client_that_leaves_its_api_run_leaves_the_server_free(slow_served):
    since = len(slow_served.console)
    with socket.create_connection(("127.0.0.1", slow_served.port)) as s:
        s.sendall(post("/api/run", json.dumps(LONG).encode(), slow_served.port))
        time.sleep(0.5)  # most likely under way; if not, it stops at its first step
    assert slow_served.wait_for("POST /api/run", since).endswith(" s, stopped: its client went away\n")
    assert slow_served.run({"prompt": "hi", "max_new_tokens": 2})["generated_ids"]


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(not os.path.exists("/proc/self/fd"), reason="counts the server's files in /proc")
def test_out_of_files_the_server_waits_without_spinning_and_serves_again():
    served = Served(TINY)
    try:
        pid, port = served.process.pid, served.port
        files = len(os.listdir(f"/proc/{pid}/fd"))
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (files + 3, files + 3))  # room for 3 connections more
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]  # they send nothing
        time.sleep(0.3)
        before = cpu_seconds(pid)
        time.sleep(1)
        assert cpu_seconds(pid) - before < 0.3, "the accept loop does not spin while no file is left"
        for s in idle:
            s.close()
        time.sleep(0.3)
        assert served.run({"prompt": "hi", "max_new_tokens": 2})["generated_ids"]
    finally:
        code, stderr = served.stop()
    assert code == 130 and "Traceback" not in stderr, stderr


def polled(condition):
    """Wait for an event that nothing announces: condition() polled until true (a last bound of 300 s)."""
    deadline = time.monotonic() + 300
    while not condition():
        assert time.monotonic() < deadline, "the event never came"
        time.sleep(0.02)


def test_beyond_its_connections_a_client_gets_503_at_once(fresh, monkeypatch):
    from instruments.page import guard
    monkeypatch.setattr(guard, "REQUEST_SECONDS", 300)  # the idle ones are not let go while the test runs
    idle = [socket.create_connection(("127.0.0.1", fresh.port)) for _ in range(guard.MOST_CONNECTIONS)]
    try:
        polled(lambda: fresh.server.connections == guard.MOST_CONNECTIONS)  # each accepted and counted
        status, error = status_and_error(exchange(fresh, post("/api/run", GOOD, fresh.port)))
        assert (status, error) == (503, "the server has too many connections open: try again soon")
    finally:
        for s in idle:
            s.close()
    polled(lambda: fresh.server.connections == 0)


HOSTILE = """<!DOCTYPE html><html><body>
<iframe id="framed" src="http://127.0.0.1:{port}/?prompt=hi&max_new_tokens=3"></iframe>
<form id="form" method="POST" action="http://127.0.0.1:{port}/api/run" enctype="text/plain" target="sink">
<input name='{{"prompt": "hi", "x": "' value='"}}'></form>
<iframe name="sink" id="sink"></iframe>
<script>
const at = "http://127.0.0.1:{port}";
fetch(at + "/api/run", {{method: "POST", mode: "no-cors", headers: {{"Content-Type": "text/plain"}}, body: '{{"prompt": "hi"}}'}});
fetch(at + "/api/page", {{method: "POST", headers: {{"Content-Type": "application/json"}}, body: '{{"options": {{"prompt": "hi"}}}}'}})
  .catch(() => {{ document.title = "refused"; }});
document.getElementById("form").submit();
</script></body></html>"""


def test_in_a_browser_a_page_of_another_site_runs_nothing(fresh, browser, capsys):
    """A page on another origin (another port of 127.0.0.1) frames the page with a run in its address, posts a
    text/plain form and fetches both APIs: the frame stays empty and no run begins."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from selenium.webdriver.common.by import By
    html = HOSTILE.format(port=fresh.port).encode()

    class Elsewhere(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass
    elsewhere = ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere)
    threading.Thread(target=elsewhere.serve_forever, daemon=True).start()
    try:
        browser.get(f"http://127.0.0.1:{elsewhere.server_port}/")
        from selenium.webdriver.support.ui import WebDriverWait
        asked = []  # the server's line for each API request it answered

        def answered(d):
            asked.append(capsys.readouterr().err)
            return "".join(asked).count("POST /api/run") >= 2 and "OPTIONS /api/page" in "".join(asked)
        WebDriverWait(browser, 300).until(lambda d: d.title == "refused" and answered(d))  # no CORS allowance
        browser.switch_to.frame(browser.find_element(By.ID, "framed"))
        WebDriverWait(browser, 300).until(lambda d: d.execute_script(
            "return document.readyState === 'complete' && location.href !== 'about:blank'"))
        assert not browser.find_elements(By.ID, "o-prompt"), "the page refuses to be framed"
    finally:
        elsewhere.shutdown()
        elsewhere.server_close()
    asked = "".join(asked) + capsys.readouterr().err
    assert asked.count("POST /api/run") == 2 and asked.count("OPTIONS /api/page") == 1, asked
    assert fresh.runs == []


def test_a_note_of_the_run_reaches_the_page(fresh):
    """The terminal's notes (here: the prompt fills the model's context, so nothing is generated) are page events."""
    body = json.dumps({"options": {"prompt": "hi " * 63 + "hi", "max_new_tokens": 3}}).encode()
    lines = exchange(fresh, post("/api/page", body, fresh.port)).partition(b"\r\n\r\n")[2].splitlines()
    notes = [json.loads(line)["note"] for line in lines if line and "note" in json.loads(line)]
    assert notes == ["stopped after 0 new tokens: the model reads at most 64 tokens"]


def option_values():
    return st.one_of(st.sampled_from(["--", "-", "-1", "-x", "--help", "1e400", "nan", "inf", "0", "1", "3.5", "-0.5",
                                      "1:2", "-1:", ":", "1.1", "0.0,1.1", "0.0,,", "resid,heads", "logits", "0.0.q",
                                      " ", "", "9" * 5000, "\u00e9", "\x00", "\u2028"]),
                     st.text(max_size=12), st.integers(-10**20, 10**20), st.floats(), st.booleans(), st.none(),
                     st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=2), st.integers(), max_size=1))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_any_option_value_on_the_api_is_run_or_refused_in_one_sentence(quick, data):
    import main
    from plumbing.page_options import api_options
    keys = sorted(api_options(main.command_line()))
    options = data.draw(st.dictionaries(st.sampled_from(keys), option_values(), max_size=4))
    options.setdefault("prompt", "The color of the cat")
    options.setdefault("max_new_tokens", 1)
    quick.failures.clear()
    body = json.dumps(options).encode()
    answer = exchange(quick, post("/api/run", body, quick.port))
    status = int(answer.split()[1])
    assert status in (200, 400, 413) and quick.failures == [], (options, answer[-400:], quick.failures)
    if status != 200:
        error = status_and_error(answer)[1]
        assert "\n" not in error and len(error) < 400, error


def test_a_blocks_small_maps_take_the_largest_weight_of_each_group_of_positions(fresh, tiny, tok, monkeypatch):
    """/api/heads with small maps of at most 5 groups of positions a side (SMALL, 96 on the page, made 5 here):
    each cell is the largest weight of its square, computed here by loops over the probe's map."""
    from instruments.page import data
    from instruments.probe import probe
    monkeypatch.setattr(data, "SMALL", 5)
    options = {"prompt": "The color of the cat is yellow, and the dog is brown", "max_new_tokens": 2}
    ask = lambda body: exchange(fresh, post("/api/heads", json.dumps(body).encode(), fresh.port))  # noqa: E731
    answer = json.loads(ask({"options": options, "block": 2, "first": 1}).partition(b"\r\n\r\n")[2])
    weights = probe(tok.encode(options["prompt"]), *tiny).attention[2][:, 1:, 1:]  # [n_head, n, n]
    n, starts = weights.shape[-1], answer["starts"]
    ends = starts[1:] + [n]
    assert len(starts) == 5 and starts[0] == 0 and {b - a for a, b in zip(starts, ends)} <= {n // 5, -(-n // 5)}
    assert len(answer["maps"]) == tiny[1].n_head
    for h, triangle in enumerate(answer["maps"]):
        cells = [round(1000 * max(weights[h, i, j] for i in range(starts[r], ends[r]) for j in range(starts[c], ends[c])))
                 for r in range(5) for c in range(r + 1)]
        assert triangle == cells, h
    for bad in ({"options": options, "block": 3, "first": 0}, {"options": options, "block": 0, "head": 0, "first": 0},
                {"options": options, "block": 0}, {"options": options, "block": 0, "first": 60}):
        status, error = status_and_error(ask(bad))
        assert status == 400 and ("a block's small maps are asked with" in error or "first is a position" in error), error


def test_the_lens_asked_for_later_is_the_one_the_page_would_have_held(fresh):
    options = {"prompt": "The color of the cat", "max_new_tokens": 3, "ablate": "1.2", "kv_cache": True}
    body = json.dumps({"options": options, "lens": True}).encode()
    lines = exchange(fresh, post("/api/page", body, fresh.port)).partition(b"\r\n\r\n")[2].splitlines()
    page = json.loads(lines[-1])["page"]
    later = json.loads(exchange(fresh, post("/api/lens", json.dumps({"options": options}).encode(), fresh.port))
                       .partition(b"\r\n\r\n")[2])
    assert later["lens"] == page["lens"] and all(page["texts"][i] == text for i, text in later["texts"].items())
    without = exchange(fresh, post("/api/page", json.dumps({"options": options, "lens": False}).encode(), fresh.port))
    assert json.loads(without.partition(b"\r\n\r\n")[2].splitlines()[-1])["page"]["lens"] is None


def test_one_heads_map_asked_for_is_the_probes(fresh, tiny, tok):
    from instruments.page.data import thousandths
    from instruments.probe import probe
    options = {"prompt": "The color of the cat is yellow", "max_new_tokens": 2}
    ask = lambda body: exchange(fresh, post("/api/head", json.dumps(body).encode(), fresh.port))  # noqa: E731
    answer = ask({"options": options, "block": 1, "head": 2, "first": 3})
    weights = probe(tok.encode(options["prompt"]), *tiny).attention[1][2]
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["map"] == thousandths(weights[3:, 3:])
    for bad in ({"options": options, "block": 9, "head": 0, "first": 0}, {"options": options, "block": 0, "head": "0", "first": 0},
                {"options": options, "block": 0, "head": 0}, {"options": options, "block": 0, "head": 0, "first": 60}):
        status, error = status_and_error(ask(bad))
        assert status == 400 and ("a head's map is asked with" in error or "first is a position" in error), error


@pytest.mark.parametrize("body, sentence", [
    (b'{"prompt": "hi", "max_new_tokens": ' + b"9" * 5000 + b"}", "the request holds a number of 5000 digits: give whole numbers below 10**18"),
    (b'{"prompt": "hi", "max_new_tokens": -' + b"9" * 19 + b"}", "the request holds a number of 19 digits"),
    (b'{"prompt": "hi", "prompt": "yo"}', 'the request gives "prompt" twice: give each key once'),
    (b'{"options": {"prompt": "hi", "prompt": "yo"}}', 'the request gives "prompt" twice'),
    ('{"prompt": "hi", "max_new_tokens": "\u0661\u0662"}'.encode(), "is not a whole number (written in the digits 0 to 9)"),
    ('{"prompt": "hi", "temperature": "\u0661.\u0665"}'.encode(), "is not a number"),
    (b'{"prompt": "hi", "ablate": "0.0", "ablate_with": "--"}', "argument --ablate-with: invalid choice: '--'"),
    (b'{"prompt": "hi", "patch_positions": "' + b" " * 2000 + b'x", "patch": "yo"}', "is too long (2001 characters)"),
])
def test_round_five_values_on_the_api_are_refused_in_the_apis_words(fresh, body, sentence):
    """A 5000-digit number was refused in Python's words (set_int_max_str_digits), a key given twice silently took
    its last value, digits of another script were read as numbers, --ablate-with=-- ran without it, and 2,000
    spaces held every thread for a minute."""
    for path in ("/api/run", "/api/page"):
        if path == "/api/page" and not body.startswith(b'{"options"'):
            body = b'{"options": ' + body + b"}"
        status, error = status_and_error(exchange(fresh, post(path, body, fresh.port)))
        assert status == 400 and sentence in error and "\n" not in error, (path, error)
    assert fresh.runs == []


def test_an_api_run_says_why_it_generated_fewer_tokens_than_asked(fresh):
    """/api/run of a prompt at the context's length, asked for 5 tokens, answered none and no reason (the note went
    nowhere); it now answers the terminal's notes."""
    body = json.dumps({"prompt": "hi " * 63 + "hi", "max_new_tokens": 5}).encode()
    answer = json.loads(exchange(fresh, post("/api/run", body, fresh.port)).partition(b"\r\n\r\n")[2])
    assert answer["generated_ids"] == [] and answer["notes"] == ["stopped after 0 new tokens: the model reads at most 64 tokens"]
    answer = json.loads(exchange(fresh, post("/api/run", GOOD, fresh.port)).partition(b"\r\n\r\n")[2])
    assert "notes" not in answer
