"""The agent's liveness probe: a hung sidecar (alive but not answering) is restarted."""

from __future__ import annotations

import http.server
import socket
import threading

from tray_agent.supervisor.health import HealthProbe, probe


def _server(status: int) -> tuple[http.server.HTTPServer, str]:
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status if self.path == "/health/liveliness" else 404)
            self.end_headers()

        def log_message(self, *a: object) -> None:
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}"


def test_probe_reports_ok_bad_status_and_silence() -> None:
    ok, url_ok = _server(200)
    bad, url_bad = _server(503)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts into the backlog, never answers: a hung process
    try:
        assert probe(url_ok) is None
        assert probe(url_bad) == "HTTP 503"
        reason = probe(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.5)
        assert reason is not None and "Timeout" in reason
    finally:
        ok.shutdown()
        bad.shutdown()
        silent.close()


def test_probe_thread_reports_each_interval_for_the_current_target() -> None:
    srv, url = _server(200)
    seen: list[tuple[int, str | None]] = []
    done = threading.Event()

    def report(gen: int, reason: str | None) -> None:
        seen.append((gen, reason))
        if len(seen) >= 3:
            done.set()

    hp = HealthProbe(lambda: (7, url), report, interval=0.05)
    hp.start()
    try:
        assert done.wait(5)
    finally:
        hp.stop()
        srv.shutdown()
    assert seen[:3] == [(7, None)] * 3
