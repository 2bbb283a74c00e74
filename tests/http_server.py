"""A local HTTP server for tests: serves a folder on 127.0.0.1 from a thread, with HTTP Range
requests (206), and can misbehave on purpose: ignore Range (always 200 and the whole file), or
break the connection after a number of bytes of a file. Missing files are 404. Every request is
recorded (path, Range header, status, body bytes sent).

    from tests.http_server import serve_folder, closed_port

    with serve_folder(tmp_path / "files", drop_after=100) as server:
        url = server.url("a.bin")
        ...
        assert server.requests[-1].range == "bytes=100-"
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


@dataclass
class Request:
    """One request the server answered: ``sent`` counts the body bytes written."""

    path: str
    range: str | None
    status: int
    sent: int


class FolderServer:
    """Serve ``folder`` over HTTP on 127.0.0.1 (a free port) from a background thread.

    ``ignore_range``: answer every request with 200 and the whole file. ``drop_after``: for the
    first ``drops`` responses, announce the full length but send only ``drop_after`` body bytes,
    then close the connection.
    """

    def __init__(self, folder: str | Path, ignore_range: bool = False,
                 drop_after: int | None = None, drops: int = 1):
        self.folder = Path(folder).resolve()
        self.ignore_range = ignore_range
        self.drop_after = drop_after
        self.drops_left = drops if drop_after is not None else 0
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str = "") -> str:
        """The address of ``path`` (relative to the folder) on this server."""
        return f"http://127.0.0.1:{self.port}/{urllib.parse.quote(path)}"

    def start(self) -> "FolderServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "FolderServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def _take_drop(self) -> int | None:
        with self._lock:
            if self.drops_left <= 0:
                return None
            self.drops_left -= 1
            return self.drop_after

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # quiet
                pass

            def do_GET(self):
                relative = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
                target = (server.folder / relative).resolve()
                asked = self.headers.get("Range")
                if server.folder not in target.parents or not target.is_file():
                    body = b"not found"
                    self.send_response(404)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    server._record(Request(relative, asked, 404, 0))
                    return
                data = target.read_bytes()
                match = RANGE.match(asked or "")
                if match and not server.ignore_range:
                    start = int(match.group(1))
                    end = int(match.group(2)) if match.group(2) else len(data) - 1
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        server._record(Request(relative, asked, 416, 0))
                        return
                    body, status = data[start:end + 1], 206
                else:
                    body, status, start = data, 200, 0
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Accept-Ranges", "none" if server.ignore_range else "bytes")
                if status == 206:
                    self.send_header("Content-Range",
                                     f"bytes {start}-{start + len(body) - 1}/{len(data)}")
                self.end_headers()
                drop = server._take_drop()
                if drop is not None and drop < len(body):
                    self.wfile.write(body[:drop])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    server._record(Request(relative, asked, status, drop))
                    return
                self.wfile.write(body)
                server._record(Request(relative, asked, status, len(body)))

        return Handler


@contextlib.contextmanager
def serve_folder(folder: str | Path, **options) -> Iterator[FolderServer]:
    """A started :class:`FolderServer` for the block (options: ignore_range, drop_after, drops)."""
    with FolderServer(folder, **options) as server:
        yield server


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
