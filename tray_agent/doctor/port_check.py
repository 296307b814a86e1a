"""Doctor check of the proxy port: free, or held by our own agent and sidecar (else: by whom)."""

from __future__ import annotations

import errno
import socket

import psutil

from tray_agent.doctor.context import CheckResult, DoctorContext

LOOPBACK = "127.0.0.1"


def listeners(port: int) -> set[int] | None:
    """Pids listening on ``port`` (None when the OS does not tell)."""
    try:
        conns = psutil.net_connections(kind="tcp")
    except (psutil.Error, OSError):
        return None
    return {
        c.pid
        for c in conns
        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid
    }


def _bind_free(port: int) -> OSError | None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if hasattr(socket, "SO_EXCLUSIVEADDRUSE"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        else:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((LOOPBACK, port))
        sock.listen(1)
        return None
    except OSError as exc:
        return exc
    finally:
        sock.close()


def check_port(ctx: DoctorContext) -> CheckResult:
    port = ctx.port()
    title = f"port {port} free or owned by our sidecar"
    ours: set[int] = set()
    if ctx.status is not None:
        sc = ctx.status["sidecar"]
        ours = {int(ctx.status["agent"]["pid"])}
        for pid in (sc.get("pid"), (sc.get("pending") or {}).get("pid")):
            if pid:
                ours.add(int(pid))
        if sc.get("state") == "running":
            holders = listeners(port)
            if holders is None or holders <= ours:
                return CheckResult(
                    "port", title, "pass", f"{LOOPBACK}:{port} is served by our sidecar"
                )
    err = _bind_free(port)
    if err is None:
        return CheckResult("port", title, "pass", f"{LOOPBACK}:{port} is free")
    if err.errno not in (errno.EADDRINUSE, errno.EACCES, getattr(errno, "WSAEADDRINUSE", -1)):
        return CheckResult(
            "port",
            title,
            "fail",
            f"cannot listen on {LOOPBACK}:{port}: {err.strerror or err}",
            "choose another port: bridge.port in config.yaml",
        )
    holders = listeners(port) or set()
    if holders and holders <= ours:
        return CheckResult("port", title, "pass", f"{LOOPBACK}:{port} is held by our agent")
    from tray_agent.supervisor.ports import describe_listener

    who = describe_listener(port, ours) or "another program"
    return CheckResult(
        "port",
        title,
        "fail",
        # Not only a start problem: clients keep sending the proxy key to this port.
        f"{LOOPBACK}:{port} is already in use by {who}; clients that send the proxy key "
        "there hand it to that program",
        "stop that program, or choose another port: set bridge.port in config.yaml "
        "(or `litellm-bridge init --port N`)",
        {"holders": sorted(holders)},
    )
