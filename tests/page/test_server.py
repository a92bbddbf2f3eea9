"""--serve: the live page's server, driven with a real HTTP client on 127.0.0.1.

Each server is main.py --serve in a process of its own, on a port the system picks (--port 0), stopped
by the test. Every answer of /api/run is compared with what main.py --json prints for the same options;
every bad request gets its status and sentence, and the next good request is served as usual.
"""
import contextlib
import http.client
import json
import os
import signal
import socket
import threading
import time

import pytest

from conftest import ROOT, TINY, Served, json_of, run_main

INDUCTION = os.path.join(ROOT, "tests", "fixtures", "induction-gpt2")
PROMPT = "The animal is yellow. It's a cat. It's color is yellow. The color of the cat"
CORRUPTED = PROMPT.replace("yellow", "green")


@pytest.fixture(scope="module")
def slow_server(slow_model):
    """conftest's slow model, served: a long generation or grid takes seconds, long enough to interrupt."""
    served = Served(slow_model)
    yield served
    served.stop()


def cli(model, options):
    """What main.py --json prints for the same options."""
    argv = []
    for key, value in options.items():
        if key != "prompt":
            argv += [f"--{key.replace('_', '-')}"] if value is True else [f"--{key.replace('_', '-')}={value}"]
    result = run_main(*argv, "--model", model, "--json", "--", options["prompt"])
    assert result.returncode == 0, result.stderr
    return json_of(result)


RUNS = [
    {"prompt": PROMPT, "max_new_tokens": 5},
    {"prompt": PROMPT, "max_new_tokens": 5, "kv_cache": True},
    {"prompt": PROMPT, "max_new_tokens": 4, "temperature": 0.8, "top_k": 40, "seed": 3},
    {"prompt": PROMPT, "max_new_tokens": 3, "ablate": "0.1,2.3"},
    {"prompt": PROMPT, "max_new_tokens": 3, "ablate": "0.1,2.3", "ablate_with": "mean", "kv_cache": True},
    {"prompt": PROMPT, "max_new_tokens": 0, "lens": True, "heads": True, "attribute": True, "copying": True},
    {"prompt": PROMPT, "max_new_tokens": 0, "patch": CORRUPTED, "patch_at": "resid,heads,values", "versus": " cat"},
    {"prompt": PROMPT, "max_new_tokens": 0, "patch": CORRUPTED, "path": "2.1.k", "target": " dog"},
    {"prompt": PROMPT, "score": True, "ablate": "1.1"},
    {"prompt": PROMPT, "max_new_tokens": 3, "show_top": 4},
    {"prompt": "", "max_new_tokens": 3},
    {"prompt": "-hello <!--<script>", "max_new_tokens": 2},
]


@pytest.mark.parametrize("options", RUNS, ids=lambda o: ",".join(o)[:60])
def test_an_answer_is_what_the_command_line_prints(tiny_server, options):
    assert tiny_server.run(options) == cli(TINY, options)


def test_the_induction_models_experiments_are_the_command_lines(induction_server):
    options = {"prompt": "<|endoftext|>qwzjxvkbmyfpgdhqwzjxvk", "max_new_tokens": 4, "heads": True, "copying": True,
               "patch": "<|endoftext|>qwzjxvktmyfpgdhqwzjxvk", "patch_at": "heads,pattern,values", "versus": "t",
               "path": "1.0.v", "ablate": "1.1", "ablate_with": "mean"}
    assert induction_server.run(options) == cli(INDUCTION, options)


BAD = [
    # (method, path, body, headers, status, sentence)
    ("POST", "/api/run", {"prompt": "hi", "ablate": "3.0"}, {}, 400, "there is no head 3.0"),
    ("POST", "/api/run", {"prompt": "hi", "patch": "hi", "target": " yellow cat"}, {}, 400, "--target must be one token"),
    ("POST", "/api/run", {"prompt": "hi there", "patch": "hi"}, {}, 400, "--patch needs a corrupted prompt with as many tokens"),
    ("POST", "/api/run", {"prompt": "hi " * 70}, {}, 400, "tokens; this model reads at most 64"),
    ("POST", "/api/run", {"prompt": "hi", "max_new_tokens": 65}, {}, 400, "max_new_tokens is at most 64 here"),
    ("POST", "/api/run", {"prompt": "hi", "max_new_tokens": "ten"}, {}, 400, "'ten' is not a whole number"),
    ("POST", "/api/run", {"prompt": "hi", "seed": 3}, {}, 400, "give a --temperature above 0 too"),
    ("POST", "/api/run", {"prompt": "hi", "show_top": 101}, {}, 400, "show_top is at most 100 here"),
    ("POST", "/api/run", {"prompt": "hi", "kv_cache": "yes"}, {}, 400, 'kv_cache is a flag: give true or false, not "yes"'),
    ("POST", "/api/run", {"prompt": 5}, {}, 400, "prompt takes text"),
    ("POST", "/api/run", {"prompt": "hi", "ablate": ["1.2"]}, {}, 400, "ablate takes text"),
    ("POST", "/api/run", {"prompt": "hi", "model": "gpt2"}, {}, 400, "'model' is not an option of the page"),
    ("POST", "/api/run", {"prompt": "hi", "prompt_file": "/etc/passwd"}, {}, 400, "'prompt_file' is not an option"),
    ("POST", "/api/run", {"max_new_tokens": 3}, {}, 400, "give a prompt"),
    ("POST", "/api/run", [1, 2], {}, 400, "the options must be a JSON object"),
    ("POST", "/api/run", b"{not json", {}, 400, "the request is not JSON"),
    ("POST", "/api/run", b'{"prompt": NaN}', {}, 400, "NaN is not a JSON number"),
    ("POST", "/api/run", b"\xff\xfe", {}, 400, "the request is not JSON"),
    ("POST", "/api/page", {"options": {"prompt": "hi"}, "watch": [99999999]}, {}, 400, "watch is a list of at most 10"),
    ("POST", "/api/page", {"prompt": "hi"}, {}, 400, 'the page asks with {"options"'),
    ("POST", "/api/page", {"options": {"prompt": "hi", "heads": True}}, {}, 400, "--heads needs a prompt of at least two"),
    ("GET", "/api/run", None, {}, 405, "/api/run takes POST, not GET"),
    ("DELETE", "/", None, {}, 405, "/ takes GET or HEAD, not DELETE"),
    ("PUT", "/api/page", None, {}, 405, "/api/page takes POST"),
    ("GET", "/etc/passwd", None, {}, 404, "there is nothing at /etc/passwd"),
    ("GET", "/../main.py", None, {}, 404, "there is nothing at"),
    ("GET", "/instruments/page/page.js", None, {}, 404, "there is nothing at"),
    ("GET", "/", None, {"Host": "evil.example:80"}, 403, "this server answers only requests to 127.0.0.1"),
    ("POST", "/api/run", {"prompt": "hi"}, {"Origin": "http://evil.example"}, 403, "requests from other pages are refused"),
]


@pytest.mark.parametrize("method, path, body, headers, status, sentence", BAD, ids=[f"{b[0]} {b[1]} {b[4]} {b[5][:30]}" for b in BAD])
def test_a_bad_request_gets_its_status_and_sentence_and_the_server_goes_on(tiny_server, method, path, body, headers,
                                                                         status, sentence):
    got, response_headers, text = tiny_server.request(method, path, body, headers)
    assert got == status, text
    assert sentence in json.loads(text)["error"], text
    if status == 405:
        assert response_headers["Allow"] in ("GET, HEAD", "POST")
    assert tiny_server.run({"prompt": "hi", "max_new_tokens": 2})["generated_ids"], "and the next request is served"


def raw(served, head):
    """What the server answers to a request written by hand (head: its lines, up to the body)."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=30) as s:
        s.sendall(head.encode())
        answer = b""
        while chunk := s.recv(10000):  # the server closes the connection after its answer
            answer += chunk
        return answer.decode()


def test_a_body_too_large_or_without_a_length_or_with_a_host_of_another_port(tiny_server):
    head = f"POST /api/run HTTP/1.1\r\nHost: 127.0.0.1:{tiny_server.port}\r\nContent-Type: application/json\r\n"
    answer = raw(tiny_server, f"{head}Content-Length: {(1 << 20) + 1}\r\n\r\nxxxx")
    assert answer.startswith("HTTP/1.1 413") and "a request is at most 1048576 bytes; this one is '1048577'" in answer
    assert raw(tiny_server, f"{head}\r\n").startswith("HTTP/1.1 411")
    status, _, _ = tiny_server.request("GET", "/", headers={"Host": f"127.0.0.1:{tiny_server.port + 1}"})
    assert status == 403
    status, _, _ = tiny_server.request("GET", "/", headers={"Host": f"localhost:{tiny_server.port}"})
    assert status == 200


def test_the_page_is_served_from_memory_and_the_api_is_for_its_origin(tiny_server):
    status, headers, text = tiny_server.request("GET", "/?prompt=hi&heads=true")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8" and text.startswith("<!DOCTYPE html>")
    origin = {"Origin": f"http://127.0.0.1:{tiny_server.port}"}
    status, _, _ = tiny_server.request("POST", "/api/run", {"prompt": "hi", "max_new_tokens": 1}, origin)
    assert status == 200


def events(served, options, watch=()):
    status, headers, text = served.request("POST", "/api/page", {"options": options, "watch": list(watch)})
    assert status == 200 and headers["Content-Type"] == "application/x-ndjson", text
    return [json.loads(line) for line in text.splitlines()]


def test_the_page_events_stream_the_continuation_then_the_page(tiny_server):
    options = {"prompt": "café 😀", "max_new_tokens": 6}
    got = events(tiny_server, options, watch=[464])
    streamed = "".join(e["text"] for e in got if "token" in e)
    page = got[-1]["page"]
    expected = cli(TINY, options)
    assert streamed == expected["text"] + "\n" and page["json"] == expected
    assert page["live"] and [t[0] for t in page["generated"]] == expected["generated_ids"]
    assert set(page["watched"]) >= {"464", str(page["next_id"])}
    assert page["command"] == f"./run.sh 'café 😀' --max-new-tokens=6 --model {TINY}"


@pytest.mark.parametrize("experiments", [{"attribute": True}, {"saliency": True, "versus": " dog"},
                                         {"patch": "The cat", "patch_at": "heads"}, {"self_repair": True},
                                         {"why_attends": "1.0", "why_query": 1}])
def test_a_clicks_first_answer_leaves_the_experiments_out_whichever_follow_a_token(tiny_server, experiments):
    """answer_only runs without the tools and experiments; once, an experiment that follows a token was still
    asked for its token there, with no probe to read it from, and the click's answer was a failure."""
    options = {"prompt": "The dog", "max_new_tokens": 1, "ablate": "0.1", **experiments}
    status, _, text = tiny_server.request("POST", "/api/page", {"options": options, "watch": [464], "answer_only": True})
    last = json.loads(text.splitlines()[-1])
    assert status == 200 and set(last) == {"answer"}, text[-300:]
    assert last["answer"]["json"]["text"] == cli(TINY, {"prompt": "The dog", "max_new_tokens": 1, "ablate": "0.1"})["text"]


def test_why_a_head_attends_where_the_page_was_clicked_is_the_command_lines_answer(induction_server):
    options = {"prompt": "<|endoftext|>qwzjxvkbmyfpgdhqwzjxvk", "max_new_tokens": 2, "heads": True}
    for block, head, query, key, extra in ((1, 0, 22, 8, {}), (0, 2, 9, 8, {}), (1, 1, 20, 7, {"ablate": "0.2"})):
        asked = {**options, **extra}
        status, _, text = induction_server.request("POST", "/api/why", {"options": asked, "block": block, "head": head,
                                                                         "query": query, "key": key})
        assert status == 200, text
        plain = {k: v for k, v in asked.items() if k != "heads"}  # the prompt's run alone, as the route runs it
        expected = cli(INDUCTION, {**plain, "max_new_tokens": 0, "why_attends": f"{block}.{head}", "why_query": query,
                                   "why_key": key})["why_attends"]
        answer = json.loads(text)
        assert {k: v for k, v in answer.items() if k != "arithmetic"} == expected
        row = answer["arithmetic"]  # the block's heads at the query, for the page's panel: the probe's numbers
        assert row["query"] == query and len(row["qk"]) == 4 and all(len(r) == query + 1 for r in row["qk"] + row["weights"])
        assert row["weights"][head][key] == pytest.approx(expected["weight"], abs=6e-5)
        assert row["qk"][head][key] / 4 == pytest.approx(expected["score"], abs=2e-4)  # d_head 16
    for body, sentence in (({"options": options, "block": 1, "head": 0, "query": 5, "key": 6}, "key one at or before it"),
                           ({"options": options, "block": 1, "head": 0, "query": 40, "key": 6}, "query is a position"),
                           ({"options": options, "block": 2, "head": 0, "query": 5, "key": 1}, "why a head attends is asked"),
                           ({"options": options, "block": 1, "head": 0, "query": "5", "key": 1}, "why a head attends is asked")):
        status, _, text = induction_server.request("POST", "/api/why", body)
        assert status == 400 and sentence in json.loads(text)["error"], text


def test_two_clients_at_once_get_their_own_answers(tiny_server):
    prompts = ["The dog", "A cat", "Hello, my dog is", "Once upon a time"]
    answers = {}

    def ask(prompt):
        answers[prompt] = tiny_server.run({"prompt": prompt, "max_new_tokens": 8, "lens": True})
    threads = [threading.Thread(target=ask, args=(p,)) for p in prompts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for prompt in prompts:
        assert answers[prompt] == cli(TINY, {"prompt": prompt, "max_new_tokens": 8, "lens": True})


LONG = {"prompt": "hello " * 400, "max_new_tokens": 600}  # seconds on the slow model


def test_a_client_that_goes_away_mid_run_leaves_the_server_free(slow_server):
    """The console's line for the request says that it stopped because its client went away: no test here waits
    for a number of seconds (the suite passes on a busy machine); scripts/benchmark.py times it."""
    since = len(slow_server.console)
    with socket.create_connection(("127.0.0.1", slow_server.port)) as s:
        body = json.dumps({"options": LONG}).encode()
        s.sendall(f"POST /api/page HTTP/1.1\r\nHost: 127.0.0.1:{slow_server.port}\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {len(body)}\r\n\r\n".encode()
                  + body)
        with s.makefile("rb") as stream:  # (the socket closes once this is closed too)
            assert stream.readline().startswith(b"HTTP/1.1 200")
            tokens = 0
            while tokens < 2:  # the prompt's text, then the continuation's first piece, as it is produced
                tokens += b'"token": true' in stream.readline()
    assert slow_server.wait_for("POST /api/page", since).endswith(" s, stopped: its client went away\n")
    assert slow_server.run({"prompt": "hi", "max_new_tokens": 2})["generated_ids"]


GRID = {"prompt": "hello " * 999, "max_new_tokens": 0, "patch": "world " + "hello " * 998, "patch_at": "resid,heads"}
LENS = {"prompt": "hello " * 999, "max_new_tokens": 0}  # the page's logit lens at 3 layers x 999 positions


@pytest.mark.parametrize("options, underway", [(LONG, lambda e: "token" in e),
                                               (GRID, lambda e: e.get("progress", {}).get("what") == "heads"),
                                               (LENS, lambda e: "logit lens" in e.get("progress", {}).get("what", ""))],
                         ids=["generation", "patching grids", "the page's logit lens"])
def test_stop_ends_a_long_run_and_the_next_is_served(slow_server, options, underway):
    connection = http.client.HTTPConnection("127.0.0.1", slow_server.port, timeout=60)
    connection.request("POST", "/api/page", json.dumps({"options": options}),
                       {"Content-Type": "application/json", "Run-Id": "the-long-run"})
    response = connection.getresponse()
    seen = [json.loads(response.readline())]
    while not underway(seen[-1]):  # the stream reaches the work to stop
        seen.append(json.loads(response.readline()))
    status, _, text = slow_server.request("POST", "/api/stop", {"run": "the-long-run"})
    assert status == 200 and json.loads(text) == {"stopped": True}
    rest = [json.loads(line) for line in response.read().splitlines()]
    connection.close()
    assert rest[-1] == {"stopped": True}, "at its next step (scripts/benchmark.py times how soon)"
    assert not any("page" in e for e in rest)
    assert slow_server.run({"prompt": "hi", "max_new_tokens": 2})["generated_ids"]


def long_stream(served, options, run_id):
    """A streamed run of the page, once it is under way (its first token or progress event has come): the
    response, to read to its end."""
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=300)
    connection.request("POST", "/api/page", json.dumps({"options": options}),
                       {"Content-Type": "application/json", "Run-Id": run_id})
    response = connection.getresponse()
    while not {"token", "progress"} & set(json.loads(response.readline())):
        pass
    return response


def test_too_many_waiting_get_503_with_retry_after(slow_server):
    """While one run holds the model, 4 more may wait for their turn; the rest are told to come back."""
    holding = long_stream(slow_server, LONG, "the-holding-run")
    results = []

    def ask():
        results.append(slow_server.request("POST", "/api/run", {"prompt": "hello", "max_new_tokens": 2}))
    threads = [threading.Thread(target=ask) for _ in range(7)]
    for t in threads:
        t.start()
    for t in threads:  # the 3 that cannot wait are answered while the holding run goes on
        t.join(timeout=0.05)
    while len(results) < 3:
        time.sleep(0.05)  # an event, polled: the answers come
    busy = list(results)
    assert len(busy) == 3 and all(r[0] == 503 and r[1]["Retry-After"] == "5" and "the server is busy" in r[2] for r in busy)
    assert slow_server.request("POST", "/api/stop", {"run": "the-holding-run"})[2] == '{"stopped": true}'
    assert json.loads(holding.read().splitlines()[-1]) == {"stopped": True}
    for t in threads:
        t.join(timeout=300)
    assert sorted(r[0] for r in results) == [200] * 4 + [503] * 3, "the 4 that waited had their turn"


def test_a_port_in_use_is_one_sentence_and_exit_1():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_main("--serve", "--model", TINY, "--port", str(port))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (f"error: cannot serve on 127.0.0.1:{port}: the port is in use; choose another with --port "
                             "(--port 0 takes any free one)\n")


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_kill_during_a_run_stops_the_server_within_seconds(slow_model, signum, code):
    served = Served(slow_model)
    running = long_stream(served, LONG, "a-run-under-way")
    returncode, stderr = served.stop(signum)  # it waits for the server to end (scripts/benchmark.py times how soon)
    assert returncode == code and "Traceback" not in stderr, stderr
    with contextlib.suppress(OSError, http.client.HTTPException):  # the server went away mid-run
        running.read()


@pytest.mark.parametrize("args, message", [
    (["--serve", "hello"], "--serve takes only --model and --port: the prompt and the rest are chosen on the page (leave out PROMPT)"),
    (["--serve", "--heads", "-n", "3"], "(leave out --max-new-tokens, --heads)"),
    (["hello", "--port", "8000"], "--port is where --serve listens: give --serve too"),
    (["--serve", "--port", "70000"], "70000 is not a port: give 0 to 65535"),
])
def test_serve_options_that_cannot_work_exit_2(args, message):
    result = run_main(*args, "--model", TINY)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("options", [{"prompt": "hello " * 2500, "score": True, "stride": 1}, GRID],
                         ids=["scoring at stride 1", "patching grids"])
def test_stop_ends_every_kind_of_api_run_and_is_not_a_failure(slow_server, options):
    """--score at any stride and --copying never looked for Stop (one request held a server 414 s after it); a
    stopped /api/run answered 500 "the server failed". Now: 409, its sentence, within a step of the work."""
    answers = []
    asking = threading.Thread(target=lambda: answers.append(slow_server.request("POST", "/api/run", options,
                                                                                 {"Run-Id": "a-run-to-stop"})))
    asking.start()
    while slow_server.request("POST", "/api/stop", {"run": "a-run-to-stop"})[2] != '{"stopped": true}':
        assert asking.is_alive(), "the run ended before it could be stopped: make it longer"
        time.sleep(0.05)  # an event, polled: the run is named (each takes 8 s, 23 s on this model, quiet)
    asking.join(timeout=300)
    status, _, text = answers[0]
    assert status == 409, (status, text)
    assert json.loads(text) == {"error": "the run was stopped (a Stop asked for it) before it finished"}
    assert slow_server.run({"prompt": "hi", "max_new_tokens": 2})["generated_ids"]


def test_the_copying_scores_and_the_scoring_windows_have_stop_points(tiny, tok):
    """On this machine's small models they end too soon to stop through the server: the stop points themselves."""
    from instruments.copying import copying_scores
    from instruments.probe import probe
    from lessons.score import token_logprobs
    from plumbing.watch import stopping, stops_with
    params, config = tiny
    ids = tok.encode("The color of the cat is yellow and the dog is brown")
    calls = []

    def check():
        calls.append(1)
        if len(calls) == 2:
            raise InterruptedError("stop")
    for work in (lambda: copying_scores(ids, probe(ids, params, config), params, config),
                 lambda: token_logprobs(ids * 10, params, config, stride=8, progress=stopping)):
        calls.clear()
        with stops_with(check), pytest.raises(InterruptedError):
            work()
