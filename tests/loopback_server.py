"""A loopback HTTP file server for the dataset tests (127.0.0.1, a free port).

Serves ``files`` (name -> bytes) with ``Content-Length`` and ``Range`` support,
records every request, and can misbehave on purpose: ``cut_after[name] = (n, times)``
sends the full ``Content-Length`` header but closes the connection after ``n`` body
bytes, for the next ``times`` requests of that file. Hostile servers (tests/hostile/):

- ``endless[name] = cap``: no ``Content-Length``, zeros until the client hangs up
  (or ``cap`` bytes, so that a client without a bound still ends);
- ``trickle[name] = seconds``: the body one byte at a time, ``seconds`` apart;
- ``declared_length[name] = value``: this ``Content-Length`` header, true or not.

``sent[name]`` counts the body bytes the server managed to write, all requests together.

POST requests (the RemoteMonitor callback's) are recorded in ``posts`` as
``(path, headers dict, body bytes)`` and answered ``post_status`` (200), after
``delay`` seconds like the GETs.
"""

import http.server
import re
import socket
import threading


class LoopbackServer:
    def __init__(self, files, honor_range=True):
        self.files = dict(files)
        self.honor_range = honor_range
        self.cut_after = {}
        self.delay = 0.0     # seconds to wait before answering (a slow server)
        self.requests = []   # (path, Range header or None)
        self.endless, self.trickle, self.declared_length, self.sent = {}, {}, {}, {}
        self.posts = []      # (path, headers, body) of each POST
        self.post_status = 200
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):   # keep test output quiet
                pass

            def do_GET(self):
                name = self.path.lstrip("/")
                rng = self.headers.get("Range")
                server.requests.append((name, rng))
                if server.delay:  # (not time.sleep: tests replace it to record backoffs)
                    threading.Event().wait(server.delay)
                if name in server.endless:
                    self.send_response(200)
                    self.end_headers()
                    self.send_body(name, bytes(1 << 16), repeat=server.endless[name])
                    return
                if name not in server.files:
                    self.send_error(404)
                    return
                body = server.files[name]
                start = 0
                m = re.fullmatch(r"bytes=(\d+)-", rng or "")
                if m and server.honor_range:
                    start = int(m.group(1))
                    if start >= len(body):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range",
                                     f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                payload = body[start:]
                self.send_header("Content-Length",
                                 str(server.declared_length.get(name, len(payload))))
                self.end_headers()
                if name in server.trickle:
                    for i in range(len(payload)):
                        if not self.send_body(name, payload[i:i + 1]):
                            return
                        threading.Event().wait(server.trickle[name])
                    return
                cut = server.cut_after.get(name)
                if cut and cut[1] > 0:
                    server.cut_after[name] = (cut[0], cut[1] - 1)
                    self.wfile.write(payload[:cut[0]])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.send_body(name, payload)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                server.posts.append((self.path, dict(self.headers), body))
                if server.delay:
                    threading.Event().wait(server.delay)
                self.send_response(server.post_status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def send_body(self, name, chunk, repeat=None):
                """Writes ``chunk`` (again and again up to ``repeat`` bytes); False once
                the client has hung up."""
                total = len(chunk) if repeat is None else repeat
                written = 0
                try:
                    while written < total:
                        piece = chunk[:total - written]
                        self.wfile.write(piece)
                        self.wfile.flush()
                        written += len(piece)
                        server.sent[name] = server.sent.get(name, 0) + len(piece)
                except (BrokenPipeError, ConnectionResetError):
                    return False
                return True

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,),
                                        daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def unused_url():
    """A loopback URL nothing listens on (connections are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
