"""The explorer's local web server: the page's three files and a small JSON/PNG API over a LatentSpace.

The standard library's ThreadingHTTPServer: a local, single-user tool needs no framework, and a
new dependency would have to be installed by everyone who never opens the page. What a server on
a port must still do, it does here: it answers only the paths it knows (the page's files come from
an allow-list, never a path joined from the URL), caps the size of URLs and bodies, answers
malformed requests with a 4xx and a one-line message, and, bound to a loopback address, refuses
requests addressed to another host name (a web page elsewhere cannot reach it by DNS rebinding).

  GET  /  /explorer.js  /explorer.css        the page
  GET  /api/state                            the map, legend, projection and sliders (JSON)
  GET  /api/example?i=N&kind=image|reconstruction   map point N's image (PNG)
  GET  /api/code?i=N                         map point N's code {"z": [...], "label": k or null}
  GET  /api/start?seed=S                     a generator run's random start {"z": [...]}
  POST /api/decode       {"z": [...], "label": k}                  the decoded image (PNG)
  POST /api/interpolate  {"a": [...], "b": [...], "steps": K, "label": k}
                         {"images": [base64 PNG, ...], "path": [[x, y], ...], "spherical": bool}
"""

from __future__ import annotations

import base64
import errno
import html
import ipaddress
import json
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qs, urlsplit

from genlab.errors import GenlabError

MAX_URL = 2048  # characters of a request's path and query
MAX_BODY = 64 * 1024  # bytes of a POST body: a code of MAX_DIMS numbers as JSON fits
ASSETS = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/explorer.js": ("explorer.js", "text/javascript; charset=utf-8"),
    "/explorer.css": ("explorer.css", "text/css; charset=utf-8"),
}
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address) is this machine only."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The host of a Host header, without its port ("[::1]:8765" -> "::1")."""
    if header.startswith("["):
        return header[1:].partition("]")[0]
    return header.rpartition(":")[0] if ":" in header else header


class RequestError(Exception):
    """A request the server refuses: its HTTP status and a one-line message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def read_assets() -> dict[str, bytes]:
    """The page's files, read once from the package."""
    folder = resources.files("genlab.explore")
    return {name: (folder / name).read_bytes() for name, _ in ASSETS.values()}


class Handler(BaseHTTPRequestHandler):
    server: ExplorerHTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive: a slider drag is many requests on one connection
    # The headers and the body go out in two writes; with Nagle's algorithm the second waits for the
    # client's delayed ACK of the first, 40 ms on Linux: the whole of a decode request's time.
    disable_nagle_algorithm = True

    def log_message(self, format, *args):  # a request log would drown the terminal's one line
        pass

    def do_GET(self):
        self._answer(self._get)

    def do_POST(self):
        self._answer(self._post)

    def _answer(self, route) -> None:
        try:
            if len(self.path) > MAX_URL:
                raise RequestError(414, f"the URL is longer than {MAX_URL} characters")
            self._check_host()
            status, kind, body = route(urlsplit(self.path))
        except (RequestError, ValueError) as error:  # ValueError: LatentSpace's word on a value the request gave
            status, kind, body = getattr(error, "status", 400), "text/plain; charset=utf-8", f"{error}\n".encode()
            # A refused POST's body may be left unread, where the next request on the connection would start.
            self.close_connection = self.close_connection or self.command == "POST"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)

    def _check_host(self) -> None:
        if not self.server.loopback:
            return
        if not is_loopback(host_name(self.headers.get("Host") or "localhost")):
            raise RequestError(403, "this explorer answers requests to localhost only")

    def _get(self, url):
        space = self.server.space
        if url.path in ASSETS:
            name, kind = ASSETS[url.path]
            return 200, kind, self.server.assets[name]
        query = self._query(url.query)
        if url.path == "/api/state":
            return 200, "application/json", self.server.state
        if url.path == "/api/example":
            kind = query.get("kind", "image")
            return 200, "image/png", space.example(self._int(query, "i"), kind)
        if url.path == "/api/code":
            return 200, "application/json", json.dumps(space.code_of(self._int(query, "i"))).encode()
        if url.path == "/api/start":
            if not space.generator:
                raise RequestError(404, "a random start is for generator runs; this run encodes its examples")
            return 200, "application/json", json.dumps({"z": space.start(self._int(query, "seed"))}).encode()
        raise RequestError(404, f"no such page: {url.path}")

    def _post(self, url):
        space = self.server.space
        if url.path not in ("/api/decode", "/api/interpolate"):
            raise RequestError(404, f"no such page: {url.path}")
        request = self._body()
        label = space.label_tensor(request.get("label"))
        if url.path == "/api/decode":
            return 200, "image/png", png_of(space, space.code_tensor(request.get("z")), label)
        steps = request.get("steps", 8)
        if not isinstance(steps, int) or isinstance(steps, bool):
            raise RequestError(400, "steps must be a whole number")
        result = space.interpolate(
            space.code_tensor(request.get("a"), "a"), space.code_tensor(request.get("b"), "b"), steps, label
        )
        result["images"] = [base64.b64encode(image).decode("ascii") for image in result["images"]]
        return 200, "application/json", json.dumps(result).encode()

    def _query(self, text: str) -> dict[str, str]:
        try:
            parsed = parse_qs(text, strict_parsing=bool(text), max_num_fields=8)
        except ValueError:
            raise RequestError(400, "malformed query string") from None
        return {key: values[-1] for key, values in parsed.items()}

    @staticmethod
    def _int(query: dict, name: str) -> int:
        text = query.get(name)
        if text is None or not text.lstrip("-").isdigit() or len(text) > 12:
            raise RequestError(400, f"{name} must be a whole number")
        return int(text)

    def _body(self) -> dict:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise RequestError(411, "a POST needs a Content-Length")
        if int(length) > MAX_BODY:
            raise RequestError(413, f"the request body is larger than {MAX_BODY} bytes")
        try:
            request = json.loads(self.rfile.read(int(length)))
        except (ValueError, UnicodeDecodeError):
            raise RequestError(400, "the request body is not JSON") from None
        if not isinstance(request, dict):
            raise RequestError(400, "the request body must be a JSON object")
        return request


def png_of(space, z, label) -> bytes:
    from genlab.explore.space import png

    return png(space.decode(z, label)[0])


class ExplorerHTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a stuck browser connection must not keep the process alive after stop()

    def __init__(self, address, space, loopback: bool):
        self.space = space
        self.loopback = loopback
        self.assets = read_assets()
        self.state = json.dumps(space.state(), separators=(",", ":")).encode()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)


class Explorer:
    """A running explorer: its `url`, `stop()` to end it, and `wait()` to serve until Ctrl-C. A notebook
    shows it as a link."""

    def __init__(self, space, host: str = "127.0.0.1", port: int = 0):
        self.space = space
        self.host = host
        loopback = is_loopback(host)
        try:
            self.httpd = ExplorerHTTPServer((host, port), space, loopback)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise GenlabError(
                    f"port {port} on {host} is in use; give another with --port, or --port 0 for a free one"
                ) from None
            raise GenlabError(f"cannot serve on {host}:{port}: {error.strerror or error}") from None
        if not loopback:
            print(
                f"genlab: warning: the explorer listens on {host}, so other machines can reach it; "
                "it has no login (use the default --host 127.0.0.1 to keep it to this machine)",
                file=sys.stderr,
            )
        self.port = self.httpd.server_address[1]
        shown = f"[{host}]" if ":" in host else ("127.0.0.1" if host in ("", "0.0.0.0") else host)
        self.url = f"http://{shown}:{self.port}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="genlab-explore", daemon=True)
        self.thread.start()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"Explorer({self.url}, {state}: {self.space.config.model} run {self.space.run_path})"

    def _repr_html_(self) -> str:
        if not self.running:
            return f"<p>genlab explorer of <code>{html.escape(str(self.space.run_path))}</code>: stopped</p>"
        return (
            f"<p>genlab explorer of <code>{html.escape(str(self.space.run_path))}</code>: "
            f'<a href="{html.escape(self.url)}" target="_blank">{html.escape(self.url)}</a> '
            "(stop it with <code>.stop()</code>)</p>"
        )

    @property
    def running(self) -> bool:
        return self.thread.is_alive()

    def wait(self) -> None:
        """Serve until the server stops or Ctrl-C (KeyboardInterrupt, after stopping the server)."""
        try:
            while self.thread.is_alive():
                self.thread.join(0.5)  # a short join lets Ctrl-C through
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving and free the port (a second call does nothing)."""
        if self.thread.is_alive():
            self.httpd.shutdown()
            self.thread.join()
        self.httpd.server_close()
