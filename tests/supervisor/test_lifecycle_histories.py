"""The sidecar lifecycle replayed through scripted event histories: fake sidecars, fake clock.

No process is started here: each test scripts what the sidecars say (``ready``, ``exited``,
``start_limit``) and how time passes, and checks what the state machine did -- which process
it started, drained or killed, what status shows, which command replies it resolved. The
same transitions run against real sidecars in tests/agent (zero-downtime, watched apply,
crash policy, start limits, supervision promises).
"""

from __future__ import annotations

import heapq
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tray_agent import wire
from tray_agent.config.issues import ConfigInvalid, ConfigIssue
from tray_agent.config.prepare import Prepared
from tray_agent.supervisor.lifecycle import Lifecycle, Settings
from tray_agent.supervisor.policy import CrashPolicy
from tray_agent.supervisor.sidecar import SpawnSpec

READY_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
DRAIN_TIMEOUT = 30.0


@dataclass
class FakeSidecar:
    """A sidecar that does only what the script says; it records what it was asked."""

    generation: int
    spec: SpawnSpec
    ready: bool = False
    running: bool = True
    tokens: list[tuple[str | None, float | None]] = field(default_factory=list)
    # Every stdin message in order, as ("token"|"policy"|"usage", value).
    sent: list[tuple[str, Any]] = field(default_factory=list)
    drains: list[float] = field(default_factory=list)
    kills: list[float] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return 1000 + self.generation

    @property
    def tail(self) -> list[str]:
        return [f"output of generation {self.generation}"]

    def set_token(self, token: str | None, expires_at: float | None) -> bool:
        self.tokens.append((token, expires_at))
        self.sent.append(("token", token))
        return True

    def set_policy(self, enforced: dict[str, Any] | None) -> bool:
        self.sent.append(("policy", enforced))
        return True

    def set_audit(self, blocked: str | None) -> bool:
        self.sent.append(("audit", blocked))
        return True

    def set_usage(self, usage: dict[str, Any] | None) -> bool:
        self.sent.append(("usage", usage))
        return True

    def drain(self, timeout: float) -> None:
        self.drains.append(timeout)

    def alive(self) -> bool:
        return self.running

    def kill_soon(self, grace: float = 2.0) -> None:
        self.kills.append(grace)


class FakeListener:
    def __init__(self, port: int) -> None:
        self.port = port
        self.closed = False

    def close(self) -> None:
        self.closed = True


def config(version: str, port: int = 4000, ready_timeout: float | None = None) -> Prepared:
    bridge = None
    if ready_timeout is not None:

        class _Bridge:
            def model_dump(self, mode: str) -> dict[str, Any]:
                return {"sidecar": {"ready_timeout": ready_timeout}}

        bridge = _Bridge()
    return Prepared(
        effective_yaml=f"# config {version}\n",
        inject={},
        port=port,
        env={"VERSION": version},
        bridge=bridge,
    )


class History:
    """A lifecycle with a fake clock, fake timers and fake sidecars, driven step by step."""

    def __init__(self, first: Prepared | None = None) -> None:
        self.now = 1000.0
        self._due: list[tuple[float, int, str, int]] = []
        self._seq = 0
        self.files: Prepared | ConfigInvalid = first or config("v1")
        self.sidecars: list[FakeSidecar] = []
        self.listeners: list[FakeListener] = []
        self.emitted: list[tuple[Any, ...]] = []
        self.written: list[str] = []
        self.lc = Lifecycle(
            settings=Settings(
                ready_timeout=READY_TIMEOUT,
                stop_timeout=STOP_TIMEOUT,
                drain_timeout=DRAIN_TIMEOUT,
                health_failures=3,
            ),
            policy=CrashPolicy(max_crashes=5, window=120, base_delay=1, max_delay=30),
            spawn=self._spawn,
            prepare=self._prepare,
            timers=self,
            clock=lambda: self.now,
            wall=lambda: 1_700_000_000 + self.now,
            bind=self._bind,
            write_config=self._write,
            master_key=lambda: "sk-bridge-history-test-key",
            emit=lambda *args: self.emitted.append(args),
        )

    # -- what the lifecycle is given ---------------------------------------------------------
    def _spawn(self, generation: int, spec: SpawnSpec, listener: Any) -> FakeSidecar:
        assert listener is self.listeners[-1], "a sidecar gets the socket the agent holds"
        car = FakeSidecar(generation, spec)
        self.sidecars.append(car)
        return car

    def _prepare(self) -> Prepared:
        if isinstance(self.files, ConfigInvalid):
            raise self.files
        return self.files

    def _bind(self, host: str, port: int) -> Any:
        self.listeners.append(FakeListener(port))
        return self.listeners[-1]

    def _write(self, text: str) -> Path:
        self.written.append(text)
        return Path("effective.yaml")

    def schedule(self, delay: float, name: str, generation: int = 0) -> None:
        self._seq += 1
        heapq.heappush(self._due, (self.now + delay, self._seq, name, generation))

    def cancel(self, name: str, generation: int | None = None) -> None:
        self._due = [t for t in self._due if not (t[2] == name and generation in (None, t[3]))]
        heapq.heapify(self._due)

    # -- the script ---------------------------------------------------------------------------
    def timers(self) -> list[tuple[float, str, int]]:
        return sorted((due - self.now, name, gen) for due, _, name, gen in self._due)

    def advance(self, seconds: float) -> None:
        """Let time pass; due timers fire in order, as the core's loop fires them."""
        end = self.now + seconds
        while self._due and self._due[0][0] <= end:
            due, _, name, gen = heapq.heappop(self._due)
            self.now = due
            self.lc.on_timer(name, gen)
        self.now = end

    def car(self, generation: int) -> FakeSidecar:
        return self.sidecars[generation - 1]

    def ready(self, generation: int) -> None:
        self.car(generation).ready = True
        self.lc.on_event(generation, {"event": wire.READY, "pid": self.car(generation).pid})

    def exited(self, generation: int, returncode: int) -> None:
        self.car(generation).running = False
        self.lc.on_event(generation, {"event": wire.EXITED, "returncode": returncode})

    def save(self, files: Prepared) -> None:
        """config.yaml saved (and valid): the core hands what it prepared to the machine."""
        self.files = files
        self.lc.apply(files)

    def command(self, name: str) -> Future[Any]:
        reply: Future[Any] = Future()
        getattr(self.lc, name)(reply)
        return reply

    def running(self) -> dict[str, Any]:
        """Start the first sidecar and make it ready."""
        reply = self.command("start")
        self.ready(1)
        assert reply.result(0)["state"] == "running"
        return self.lc.as_dict()

    @property
    def state(self) -> str:
        return self.lc.status.state


def test_start_then_ready_serves_and_answers_the_start() -> None:
    h = History()
    reply = h.command("start")
    assert h.state == "starting" and not reply.done()
    assert h.timers() == [(READY_TIMEOUT, "ready_timeout", 1)]
    assert h.car(1).spec.env == {"VERSION": "v1"}
    h.ready(1)
    result = reply.result(0)
    assert result["state"] == "running" and result["pid"] == 1001 and result["generation"] == 1
    assert h.timers() == [], "the ready timeout is cancelled once ready"
    assert ("ready", 1001) in h.emitted
    assert h.lc.status.applied_at == 1_700_000_000 + h.now


def test_swap_starts_the_new_config_beside_the_old_then_drains_the_old() -> None:
    h = History()
    h.running()
    h.save(config("v2"))
    assert [c.generation for c in h.sidecars] == [1, 2]
    assert h.lc.as_dict()["generation"] == 1, "the old one serves until the new one is ready"
    assert h.lc.as_dict()["pending"] == {"pid": 1002, "generation": 2}
    assert h.car(1).drains == [] and h.state == "running"
    h.ready(2)
    assert h.lc.as_dict()["generation"] == 2 and h.lc.as_dict()["pending"] is None
    assert h.car(1).drains == [DRAIN_TIMEOUT], "the old one drains, it is not killed"
    assert (DRAIN_TIMEOUT + 5, "force_kill", 1) in h.timers()
    h.exited(1, 0)
    assert h.timers() == [] and h.state == "running"
    assert h.lc.status.restarts == 0, "a drained sidecar's exit is not a crash"
    # An unchanged save afterwards starts nothing.
    h.save(config("v2"))
    assert len(h.sidecars) == 2


def test_a_config_that_never_gets_ready_is_rolled_back_and_the_old_keeps_serving() -> None:
    h = History()
    h.running()
    h.files = config("v2", ready_timeout=3)
    waiting = h.command("restart")  # applies the files: now v2 with a short ready timeout
    assert not waiting.done() and h.car(2).spec.env == {"VERSION": "v2"}
    h.advance(3)
    assert h.car(2).kills == [2], "not ready in time: its tree is ended"
    assert h.car(1).drains == [] and h.car(1).kills == []
    h.exited(2, -9)
    status = h.lc.as_dict()
    assert status["state"] == "running" and status["generation"] == 1
    err = h.lc.status.apply_error or ""
    assert "was not ready within 3 s" in err and "bridge.sidecar.ready_timeout" in err
    assert "previous config" in err
    with pytest.raises(RuntimeError, match="did not start"):
        waiting.result(0)
    # What is served is still v1: a crash of the old sidecar restarts v1, not v2.
    h.exited(1, 1)
    h.advance(1)
    assert h.car(3).spec.env == {"VERSION": "v1"}


def test_crash_loop_backs_off_then_gives_up_without_another_restart() -> None:
    h = History()
    h.running()
    delays = []
    for generation in range(1, 5):
        h.exited(generation, 3)
        assert h.state == "crashed"
        ((delay, name, _),) = h.timers()
        assert name == "restart"
        delays.append(delay)
        h.advance(delay)
        assert h.state == "restarting" and len(h.sidecars) == generation + 1
    assert delays == [1, 2, 4, 8]
    h.exited(5, 3)
    assert h.state == "error"
    assert (h.lc.status.error or "").startswith("crash loop: the sidecar exited 5 times")
    assert h.timers() == [], "no restart is scheduled after giving up"
    h.advance(600)
    assert len(h.sidecars) == 5
    assert ("error", h.lc.status.error) in h.emitted
    assert ("crashed", 3, True) in h.emitted
    # Start clears the breaker and tries again.
    h.command("start")
    assert len(h.sidecars) == 6 and h.state == "starting"


def test_crashes_spread_over_more_than_the_window_never_give_up() -> None:
    h = History()
    h.running()
    for generation in range(1, 9):
        h.exited(generation, 1)
        h.advance(60)  # one crash a minute: at most 2 in any 120 s window
        h.ready(generation + 1)
    assert h.state == "running" and h.lc.status.restarts == 8


def test_drain_during_a_swap_keeps_both_old_generations_until_each_exits() -> None:
    h = History()
    h.running()
    h.save(config("v2"))
    h.ready(2)
    h.save(config("v3"))  # saved again while generation 1 still drains
    h.ready(3)
    assert sorted(h.lc.draining) == [1, 2]
    assert h.car(2).drains == [DRAIN_TIMEOUT]
    h.exited(2, 0)
    assert sorted(h.lc.draining) == [1]
    # Generation 1 never finishes its streams: it is killed after the drain timeout.
    h.advance(DRAIN_TIMEOUT + 5)
    assert h.car(1).kills == [1]
    h.exited(1, -9)
    assert h.lc.draining == {} and h.state == "running" and h.lc.status.restarts == 0


def test_a_newer_save_replaces_a_sidecar_still_starting() -> None:
    h = History()
    h.running()
    h.save(config("v2"))
    h.save(config("v3"))
    assert h.car(2).kills == [2], "the v2 sidecar is dropped, not left to finish"
    h.exited(2, -15)
    assert h.lc.status.apply_error is None, "a dropped start is not a failed apply"
    h.ready(3)
    assert h.lc.as_dict()["generation"] == 3


def test_saving_back_what_is_served_drops_the_start_and_answers_waiters() -> None:
    h = History()
    h.running()
    waiting = h.command("restart")
    h.save(config("v2"))
    h.save(config("v1"))
    assert h.car(3).kills == [2] and h.car(2).kills == [2]
    assert waiting.result(0)["generation"] == 1


def test_stop_during_a_start_stops_it_and_answers_both_commands() -> None:
    h = History()
    start = h.command("start")
    stop = h.command("stop")
    assert h.car(1).drains == [STOP_TIMEOUT]
    assert (STOP_TIMEOUT + 2, "force_kill", 1) in h.timers()
    h.ready(1)  # it got ready while being stopped: it must not be promoted
    assert h.state != "running"
    h.exited(1, 0)
    assert h.state == "stopped" and h.listeners[-1].closed
    assert stop.result(0)["state"] == "stopped"
    with pytest.raises(RuntimeError, match="stopped before the sidecar was ready"):
        start.result(0)
    assert h.lc.status.restarts == 0 and h.timers() == []


def test_a_stop_that_is_not_obeyed_is_forced() -> None:
    h = History()
    h.running()
    stop = h.command("stop")
    h.advance(STOP_TIMEOUT + 2)
    assert h.car(1).kills == [1]
    assert not stop.done()
    h.exited(1, -9)
    assert stop.result(0)["state"] == "stopped"


def test_shutdown_waits_for_every_sidecar_to_exit_then_reports_done() -> None:
    h = History()
    h.running()
    h.save(config("v2"))  # one serving, one starting
    done: list[bool] = []
    h.lc.shutdown(lambda: done.append(True))
    assert h.car(1).kills == [STOP_TIMEOUT] and h.car(2).kills == [STOP_TIMEOUT]
    h.exited(2, -15)
    assert not done, "one sidecar still runs"
    h.exited(1, -15)
    assert done == [True] and h.state == "stopped" and h.listeners[-1].closed
    assert h.lc.status.restarts == 0


def test_shutdown_ends_at_the_backstop_when_an_exit_never_arrives() -> None:
    h = History()
    start = h.command("start")
    done: list[bool] = []
    h.lc.shutdown(lambda: done.append(True))
    h.advance(STOP_TIMEOUT + 4)
    assert not done
    h.advance(1)
    assert done == [True]
    with pytest.raises(RuntimeError, match="shutting down"):
        start.result(0)


def test_an_invalid_config_at_start_is_an_error_and_a_valid_save_starts() -> None:
    h = History()
    h.files = ConfigInvalid([ConfigIssue("config.yaml", 3, 5, "unknown key 'modle_list'")])
    start = h.command("start")
    assert h.state == "error" and h.sidecars == []
    assert "config.yaml:3:5: unknown key" in (h.lc.status.error or "")
    with pytest.raises(RuntimeError, match="config invalid"):
        start.result(0)
    h.files = config("v1")
    h.command("start")
    assert len(h.sidecars) == 1


def test_a_port_change_stops_the_old_sidecar_before_binding_the_new_port() -> None:
    h = History()
    h.running()
    h.save(config("v1", port=4100))
    assert h.car(1).drains == [STOP_TIMEOUT], "two ports cannot share one socket: stop first"
    assert len(h.sidecars) == 1, "the new one starts after the old one exited"
    h.exited(1, 0)
    h.advance(STOP_TIMEOUT + 3)
    assert len(h.sidecars) == 2 and h.listeners[-1].port == 4100
    h.ready(2)
    assert h.lc.as_dict()["port"] == 4100 and h.lc.status.restarts == 0


def test_a_start_limit_on_the_first_sidecar_is_an_error_without_restarts() -> None:
    h = History()
    h.command("start")
    h.lc.on_event(1, {"event": wire.START_LIMIT, "rss_mb": 2100})
    h.exited(1, -9)
    assert h.state == "error" and "grew past 2048 MB while starting (2100 MB" in (
        h.lc.status.error or ""
    )
    assert h.timers() == [] and h.lc.status.restarts == 0


def test_three_failed_health_probes_kill_the_sidecar_and_it_restarts() -> None:
    h = History()
    h.running()
    for _ in range(2):
        h.lc.health(1, "timed out")
    h.lc.health(1, None)  # one good answer resets the count
    for _ in range(2):
        h.lc.health(1, "timed out")
    assert h.car(1).kills == []
    h.lc.health(1, "timed out")
    assert h.car(1).kills == [2]
    h.lc.health(7, "timed out")  # a probe of another generation is ignored
    h.exited(1, -9)
    assert h.state == "crashed"
    h.advance(1)
    assert len(h.sidecars) == 2


def test_the_token_reaches_every_sidecar_including_one_started_later() -> None:
    h = History()
    h.running()
    h.lc.set_token("tok-1", 1_700_000_600.0)
    h.save(config("v2"))
    assert h.car(1).tokens[-1] == ("tok-1", 1_700_000_600.0)
    assert h.car(2).tokens == [("tok-1", 1_700_000_600.0)], "a new sidecar starts with it"


def test_policy_and_usage_reach_every_sidecar_and_a_new_one_before_its_token() -> None:
    h = History()
    h.running()
    h.lc.set_token("tok-1", None)
    policy = {"models": {"allow": ["corp-*"], "deny": []}}
    usage = {"employee_id": "e1", "requests_today": 3}
    h.lc.set_policy(policy)
    h.lc.set_usage(usage)
    assert h.car(1).sent[-2:] == [("policy", policy), ("usage", usage)]
    h.save(config("v2"))
    assert h.car(2).sent == [("policy", policy), ("usage", usage), ("token", "tok-1")]
