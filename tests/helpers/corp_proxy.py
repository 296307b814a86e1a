"""A corporate forward proxy on 127.0.0.1 that records every request it is asked to carry.

It forwards plain-HTTP requests only to the hosts it is told to serve (the stand-in IAM here,
like a proxy that reaches the company network) and refuses everything else with 502, so a
loopback call that wrongly goes through it fails and is on record.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "proxy-connection", "keep-alive", "transfer-encoding", "te"}


class CorpProxy:
    def __init__(self, serves: set[str]) -> None:
        """``serves``: the ``host:port`` targets it forwards to."""
        self.serves = serves
        self.targets: list[str] = []  # every host:port asked for, in order
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def refused(self) -> list[str]:
        with self._lock:
            return [t for t in self.targets if t not in self.serves]

    def start(self) -> CorpProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _record(self, target: str) -> None:
        with self._lock:
            self.targets.append(target)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_CONNECT(self) -> None:
                proxy._record(self.path)
                self.send_error(502, "this proxy tunnels nothing")

            def _forward(self) -> None:
                url = urlsplit(self.path)
                target = url.netloc
                proxy._record(target)
                if target not in proxy.serves or not url.hostname:
                    self.send_error(502, f"the proxy cannot reach {target}")
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=30)
                path = url.path + (f"?{url.query}" if url.query else "")
                conn.request(self.command, path or "/", body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PUT = _forward

        return Handler
