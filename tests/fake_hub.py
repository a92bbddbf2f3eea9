"""A stand-in for the Hugging Face hub on 127.0.0.1, enough for the real huggingface_hub client.

It serves folders as model repositories at HF_ENDPOINT/{repo_id}/resolve/{revision}/{filename}, the
way the hub does: HEAD and GET, the X-Repo-Commit and ETag headers the client caches by, the
X-Error-Code header that tells a missing repository from a missing file, and byte ranges so an
interrupted download can resume. It records every request, and can send files slowly so a test can
interrupt a download half-way. Like the hub, it names its .safetensors files as kept in Xet storage
(X-Xet-Hash), which huggingface_hub would fetch with hf_xet unless told not to; the Xet service itself
is not here, so a client that tried it would fail. It can also misbehave as a real server or network does (`fault`):
  "status 500" / "status 429"  answer every request with that status
  "drop"                       send half of a file's bytes, then close the connection
  "stall"                      send half of a file's bytes, then nothing more, keeping the connection open
  "slow"                       wait `seconds_per_chunk` before every answer
  "busy"                       answer 429 to a file's download (not to the question about it), saying
                               with Retry-After to wait 0 s, as the hub says how long to wait
"""
import hashlib
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMMIT = "0123456789abcdef0123456789abcdef01234567"
CHUNK = 64 * 1024


def client_env(home, endpoint, **extra):
    """The environment for a huggingface_hub client (main.py) that uses its own cache under `home` and the
    hub at `endpoint`, with none of this machine's own HF_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    return dict(env, HF_HOME=str(home), HF_ENDPOINT=endpoint, **extra)


class FakeHub:
    def __init__(self, repos, seconds_per_chunk=0.0, fault=None):
        self.repos = repos  # {"owner/name": folder}
        self.seconds_per_chunk = seconds_per_chunk
        self.fault = fault
        self.stall_seconds = 30
        self.requests = []  # (method, repo_id, filename)
        self.bytes_sent = {}  # filename -> bytes sent so far
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def requested_files(self):
        return {filename for _, _, filename in self.requests}

    def handler(hub):
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_HEAD(self):
                self.serve(body=False)

            def do_GET(self):
                self.serve(body=True)

            def serve(self, body):
                repo_id, _, rest = self.path.partition("/resolve/")
                repo_id = repo_id.strip("/")
                filename = rest.split("/", 1)[-1]
                hub.requests.append((self.command, repo_id, filename))
                if hub.fault == "slow":
                    time.sleep(hub.seconds_per_chunk)
                if hub.fault and hub.fault.startswith("status "):
                    return self.error(int(hub.fault.split()[1]), "")
                if repo_id not in hub.repos:
                    return self.error(404, "RepoNotFound")
                path = os.path.join(hub.repos[repo_id], filename)
                if not os.path.isfile(path):
                    return self.error(404, "EntryNotFound")
                with open(path, "rb") as f:
                    data = f.read()
                if hub.fault == "busy" and body and len(data) > 2 * CHUNK:
                    return self.error(429, "", retry_after="0")
                start = int(self.headers.get("Range", "bytes=0-")[6:].split("-")[0] or 0)
                digest = hashlib.sha256(data).hexdigest()
                self.send_response(206 if start else 200)
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", f'"{digest}"')
                self.send_header("Content-Length", str(len(data) - start))
                if filename.endswith(".safetensors"):
                    self.send_header("X-Xet-Hash", digest)
                    self.send_header("X-Xet-Refresh-Route", f"{hub.url}/api/models/{repo_id}/xet-read-token/{COMMIT}")
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                if body:
                    self.send_slowly(filename, data[start:])

            def send_slowly(self, filename, data):
                try:
                    self.send_chunks(filename, data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up: so do we
                    pass

            def send_chunks(self, filename, data):
                if hub.fault in ("drop", "stall") and len(data) > 2 * CHUNK:
                    self.wfile.write(data[:len(data) // 2])
                    self.wfile.flush()
                    if hub.fault == "stall":
                        time.sleep(hub.stall_seconds)  # longer than the client waits for data
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                for i in range(0, len(data), CHUNK):
                    self.wfile.write(data[i:i + CHUNK])
                    hub.bytes_sent[filename] = hub.bytes_sent.get(filename, 0) + len(data[i:i + CHUNK])
                    time.sleep(hub.seconds_per_chunk)

            def error(self, status, code, retry_after=None):
                self.send_response(status)
                if code:
                    self.send_header("X-Error-Code", code)
                if retry_after is not None:
                    self.send_header("Retry-After", retry_after)
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler
