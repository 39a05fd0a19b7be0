"""The HTTP side of ``sentae serve``: a threaded server from the standard library that serves one page and four JSON
endpoints over an ``Explorer``. Everything a request may do is bounded here (body size, content type, who may ask)
before the ``Explorer`` checks the fields.

Endpoints: ``GET /`` the page; ``GET /api/info``; ``POST /api/sample``; ``POST /api/rewrite``;
``POST /api/interpolate``; ``GET /api/map`` (the points) and ``POST /api/map`` (place a sentence)."""
from __future__ import annotations

import ipaddress
import json
import socket
import sys
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .explorer import ApiError, Explorer
from .page import CSP, PAGE

MAX_BODY = 64 * 1024  # bytes in one request body; a typed sentence of MAX_TEXT characters needs at most ~8 KB
SOCKET_TIMEOUT_S = 30  # a client that stops sending mid-request is dropped after this long
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
COMMON_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address to bind) is reachable from this machine only."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_name(header: str) -> str:
    """The name part of a Host header: ``127.0.0.1:7860`` -> ``127.0.0.1``, ``[::1]:7860`` -> ``::1``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class Handler(BaseHTTPRequestHandler):
    """One request. The server it belongs to carries the ``Explorer`` and whether it listens on loopback only."""

    server: "ExplorerServer"
    server_version = "sentae-serve"
    timeout = SOCKET_TIMEOUT_S
    protocol_version = "HTTP/1.1"

    # -- routing ---------------------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 (the standard library's naming)
        self._guarded(self._get)

    def do_POST(self) -> None:  # noqa: N802
        self._guarded(self._post)

    def _refuse_method(self) -> None:
        # No CORS preflight is ever answered, so no other web site's script may send JSON here.
        self._guarded(lambda: self._fail(ApiError(405, f"method {self.command} is not allowed (GET and POST only)"),
                                          {"Allow": "GET, POST"}))

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse_method  # noqa: N815

    def _get(self) -> None:
        path = self.path.split("?", 1)[0]
        ex = self.server.explorer
        if path in ("/", "/index.html"):
            self._send(200, PAGE.encode("utf-8"), "text/html; charset=utf-8",
                       {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY"})
        elif path == "/api/info":
            self._json(200, ex.info())
        elif path == "/api/map":
            self._json(200, ex.map_points())
        elif path in self.POST_ROUTES:
            raise ApiError(405, f"{path} takes POST with a JSON body")
        else:
            raise ApiError(404, f"no page or endpoint {path}")

    POST_ROUTES = {"/api/sample": "sample", "/api/rewrite": "rewrite", "/api/interpolate": "interpolate",
                   "/api/map": "place"}

    def _post(self) -> None:
        path = self.path.split("?", 1)[0]
        if path not in self.POST_ROUTES:
            raise ApiError(404, f"no endpoint {path}")
        body = self._read_json()
        self._json(200, getattr(self.server.explorer, self.POST_ROUTES[path])(body))

    # -- checks every request passes -------------------------------------------------------------------------
    def _check_host(self) -> None:
        """On loopback, only a loopback Host is served: a web page whose own name was re-pointed at 127.0.0.1
        (DNS rebinding) sends its own name and is refused."""
        if self.server.loopback and _host_name(self.headers.get("Host", "")) not in LOOPBACK_NAMES:
            raise ApiError(403, "this server answers requests addressed to 127.0.0.1 or localhost only")

    def _read_json(self) -> Any:
        origin = self.headers.get("Origin")
        if origin is not None and origin != f"http://{self.headers.get('Host', '')}":
            raise ApiError(403, f"requests from {origin} are not accepted (same origin only)")
        if not self.headers.get("Content-Type", "").split(";")[0].strip().lower() == "application/json":
            raise ApiError(415, "send the request body as Content-Type: application/json")
        length = self.headers.get("Content-Length")
        if length is None or "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise ApiError(411, "a request body needs a Content-Length header")
        try:
            size = int(length)
        except ValueError:
            raise ApiError(400, f"Content-Length {length!r} is not a number") from None
        if size < 0:
            raise ApiError(400, f"Content-Length {size} is negative")
        if size > MAX_BODY:
            raise ApiError(413, f"the request body has {size:,} bytes; the limit is {MAX_BODY:,}")
        raw = self.rfile.read(size)
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ApiError(400, f"the request body is not JSON: {str(exc)[:200]}") from None

    def _guarded(self, fn) -> None:
        try:
            self._check_host()
            fn()
        except ApiError as exc:
            self._fail(exc)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.close_connection = True  # the client went away; nothing to answer
        except Exception as exc:  # a bug: the page gets a 500 with its one line, the terminal the traceback
            traceback.print_exc(file=sys.stderr)
            self._fail(ApiError(500, f"internal error: {type(exc).__name__}: {exc}"))

    # -- answers ---------------------------------------------------------------------------------------------
    def _fail(self, exc: ApiError, headers: dict[str, str] | None = None) -> None:
        if exc.status in (411, 413) or exc.status >= 500:
            self.close_connection = True  # an unread body must not be taken for the next request
        self._json(exc.status, {"error": exc.message}, {**(headers or {}),
                                                         **({"Connection": "close"} if self.close_connection else {})})

    def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(data, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8",
                   headers)

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status, HTTPStatus(status).phrase)
        for name, value in {**COMMON_HEADERS, "Content-Type": content_type, "Content-Length": str(len(body)),
                            **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def version_string(self) -> str:
        return self.server_version  # no Python version in the Server header

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the standard library's name)
        if not self.server.quiet:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")


class ExplorerServer(ThreadingHTTPServer):
    """A threaded HTTP server holding the ``Explorer``; requests run in daemon threads, so Ctrl-C ends it."""

    daemon_threads = True

    def __init__(self, explorer: Explorer, host: str, port: int, quiet: bool = False) -> None:
        self.explorer = explorer
        self.loopback = is_loopback(host)
        self.quiet = quiet
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host.strip("[]"), port), Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def make_server(explorer: Explorer, host: str = "127.0.0.1", port: int = 7860, quiet: bool = False) -> ExplorerServer:
    """The server, bound and ready for ``serve_forever()`` (port 0: a free port, read back from ``server.url``)."""
    return ExplorerServer(explorer, host, port, quiet)
