"""A real HTTP server on 127.0.0.1 for testing source clients against their wire format.

    server = FakeServer()
    server.route("GET", "/api/product", lambda request: Reply(json={...}))
    server.script("GET", "/api/product", Reply(status=503), Reply(status=429))
    ...client pointed at server.url...
    server.requests  # what the client sent

Scripted replies are served first, in order, then the route's handler answers. Each fake
of a vendor (tests/fakes/pricecharting.py, ...) builds on this with that vendor's routes.
"""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    @property
    def json(self):
        return json.loads(self.body or b"null")

    @property
    def form(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(self.body.decode()).items()}


@dataclass
class Reply:
    status: int = 200
    json: object = None
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering: a slow server, for timeout tests

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if self.json is not None:
            headers.setdefault("Content-Type", "application/json")
            return json.dumps(self.json).encode(), headers
        body = self.body.encode() if isinstance(self.body, str) else self.body
        headers.setdefault("Content-Type", "text/html; charset=utf-8")
        return body, headers


class FakeServer:
    def __init__(self):
        self.routes: dict[tuple[str, str], object] = {}
        self.scripts: dict[tuple[str, str], list[Reply]] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def route(self, method: str, path: str, handler) -> None:
        """handler(request) -> Reply for every request to method + path."""
        self.routes[(method, path)] = handler

    def script(self, method: str, path: str, *replies: Reply) -> None:
        """Replies served, in order, before the route's handler answers again."""
        with self._lock:
            self.scripts.setdefault((method, path), []).extend(replies)

    def calls(self, method: str | None = None, path: str | None = None) -> list[Request]:
        return [
            request
            for request in self.requests
            if (method is None or request.method == method)
            and (path is None or request.path == path)
        ]

    def _answer(self, request: Request) -> Reply:
        key = (request.method, request.path)
        with self._lock:
            self.requests.append(request)
            queued = self.scripts.get(key)
            if queued:
                return queued.pop(0)
        handler = self.routes.get(key)
        if handler is None:
            return Reply(status=404, json={"error": f"no route {request.method} {request.path}"})
        return handler(request)

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers={key.lower(): value for key, value in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                reply = server._answer(request)
                if reply.delay:
                    time.sleep(reply.delay)
                body, headers = reply.encoded()
                try:
                    self.send_response(reply.status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, format, *args):
                pass

        return Handler
