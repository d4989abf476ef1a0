"""Misbehaving stores on 127.0.0.1, for fault tests: silent, trickling, flaky."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class SilentServer:
    """Accepts connections and never says a word; counts the connections."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                conn, _ = self.sock.accept()
                self.connections.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for conn in self.connections:
            conn.close()
        self.sock.close()


@contextlib.contextmanager
def http_server(handler_class):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server
    finally:
        server.shutdown()
        server.server_close()


def start_file(handler: BaseHTTPRequestHandler, root: Path) -> bytes | None:
    """The requested file's bytes, its status line and headers sent; None (and a 404) when absent."""
    path = root / handler.path.lstrip("/")
    if not path.is_file():
        handler.send_error(404)
        return None
    data = path.read_bytes()
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    return data


def trickling_handler(root: Path, byte_every: float = 0.2):
    """Serves the store's files one byte every ``byte_every`` seconds."""

    class Trickle(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            data = start_file(self, root)
            if data is None:
                return
            with contextlib.suppress(OSError):
                for i in range(len(data)):
                    self.wfile.write(data[i : i + 1])
                    self.wfile.flush()
                    time.sleep(byte_every)

        def log_message(self, *args):
            pass

    return Trickle


def flaky_handler(root: Path, failures: int, status: int = 503):
    """Answers ``status`` to the first ``failures`` requests of each path, then serves the file."""
    seen: dict[str, int] = {}
    lock = threading.Lock()

    class Flaky(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            with lock:
                seen[self.path] = seen.get(self.path, 0) + 1
                count = seen[self.path]
            if count <= failures:
                self.send_error(status)
                return
            data = start_file(self, root)
            if data is not None:
                self.wfile.write(data)

        def log_message(self, *args):
            pass

    Flaky.seen = seen
    return Flaky
