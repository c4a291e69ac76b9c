"""A local webhook receiver for tests: a threaded HTTP server that records every request and
answers with scripted responses (status, delay, headers, body), one per request, the last
one repeating."""

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    delay: float = 0.0  # seconds before answering (for timeouts)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    drip: float = 0.0  # seconds between the response's bytes (a receiver that never quite times out a read)


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.replies: list[Reply] = [Reply()]
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                reply = receiver._record(Received("POST", self.path, dict(self.headers.items()), body))
                if reply.delay:
                    time.sleep(reply.delay)  # the receiver is slow; the test's clock is not slept on
                if reply.drip:
                    self._drip(reply)
                    return
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the client gave up (timeout)

            def _drip(self, reply: Reply) -> None:
                raw = f"HTTP/1.1 {reply.status} OK\r\nContent-Length: {len(reply.body)}\r\n\r\n".encode()
                try:
                    for byte in raw + reply.body:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(reply.drip)
                except OSError:
                    pass  # the client gave up (its deadline)
                self.close_connection = True

            do_GET = do_POST  # a redirect target may be fetched with GET

            def log_message(self, format, *args) -> None:
                pass  # quiet: the test reads ``requests``

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _record(self, request: Received) -> Reply:
        with self._lock:
            self.requests.append(request)
            return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self.replies = list(replies)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
