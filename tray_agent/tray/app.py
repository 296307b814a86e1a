"""The tray application: a pystray icon and menu that follow the agent core's state."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tray_agent.account import Account
from tray_agent.paths import Paths
from tray_agent.platform import autostart, desktop
from tray_agent.policy.lock import MANAGED_LABEL, LockedError
from tray_agent.policy.managed import is_restore_warning
from tray_agent.tray import icons
from tray_agent.tray.children import DialogFailed, DialogRunner
from tray_agent.tray.notices import Notice, Notices
from tray_agent.tray.port import AgentPort
from tray_agent.tray.view import TrayView, build_view

log = logging.getLogger("tray_agent.tray")

ICON_SIZE = 64
UNLOCK_TTL = 300.0  # seconds a local-password check stays good for config/env edits
# The headline's live parts (requests in the last minute, start progress) are polled from
# status; the core only publishes state changes. Faster while a start is under way.
HEADLINE_POLL = 5.0
HEADLINE_POLL_STARTING = 1.0
LIVE_KEYS = ("requests", "start")


@dataclass(frozen=True)
class Entry:
    """One menu entry: ``id`` is stable (automation and tests), ``text`` is what users see."""

    id: str
    text: str
    action: Callable[[], object] | None
    enabled: Callable[[], bool] = lambda: True
    checked: Callable[[], bool] | None = None
    default: bool = False
    # The admin lock that greys this entry out (``tray_agent.policy.lock``), if any.
    lock: str | None = None


def _pystray() -> Any:
    import pystray

    return pystray


class TrayApp:
    def __init__(
        self,
        port: AgentPort,
        paths: Paths,
        runner: DialogRunner | None = None,
        icon_factory: Callable[..., Any] | None = None,
    ) -> None:
        self.port = port
        self.paths = paths
        self.runner = runner or DialogRunner()
        self._icon_factory = icon_factory
        self.notices = Notices()
        self.sent: list[Notice] = []
        self._snap: dict[str, Any] = port.snapshot()
        self._live: dict[str, Any] = {}  # status's LIVE_KEYS, as last polled
        self._wake = threading.Event()  # a start began: poll its progress at once
        self._view = build_view(self._snap)
        self._images: dict[str, Any] = {}
        self._busy: set[str] = set()
        self._busy_lock = threading.Lock()
        self._unlocked_until = 0.0
        self._restore_seen: object = None
        self._autostart = self._safe(autostart.is_enabled, False)
        self.icon: Any = None
        self.quitting = threading.Event()
        self.entries = self._entries()

    # -- menu -----------------------------------------------------------------------------
    def _entries(self) -> list[Entry]:
        v = lambda: self._view  # noqa: E731
        return [
            Entry("state", "", None, enabled=lambda: False),
            Entry("start", "Start", self.start, enabled=lambda: v().can_start),
            Entry("stop", "Stop", self.stop, enabled=lambda: v().can_stop),
            Entry("restart", "Restart", self.restart, enabled=lambda: v().can_restart),
            Entry("-1", "-", None),
            Entry("signin", "Sign in…", self.sign_in),
            Entry("edit-config", "Edit config", self.edit_config, lock="config"),
            # With every env entry locked the editor still opens, read-only.
            Entry("environment", "Environment…", self.environment),
            Entry("status", "Status…", self.status, default=True),
            Entry("logs", "Open logs folder", self.open_logs),
            Entry("setup", "Set up coding tools…", self.copy_setup),
            Entry("first-run", "First-run setup…", self.first_run),
            Entry("diagnostics", "Export diagnostics…", self.export_diagnostics),
            Entry("audit-export", "Export audit log…", self.export_audit),
            Entry("updates", "Check for updates…", self.check_updates),
            Entry("-2", "-", None),
            Entry(
                "autostart",
                "Start at login",
                self.toggle_autostart,
                checked=lambda: self._autostart,
                lock="autostart",
            ),
            Entry("quit", "Quit", self.quit),
        ]

    def entry(self, entry_id: str) -> Entry:
        for e in self.entries:
            if e.id == entry_id:
                return e
        raise KeyError(entry_id)

    def _text(self, e: Entry) -> str:
        if e.id == "state":
            return self._view.headline
        if self._managed(e) or (e.id == "environment" and self._view.lock.all_env_locked):
            return f"{e.text} ({MANAGED_LABEL})"
        return e.text

    def _managed(self, e: Entry) -> bool:
        """Whether the admin lock greys ``e`` out."""
        return e.lock is not None and self._view.lock.is_locked(e.lock)

    def _enabled(self, e: Entry) -> bool:
        return not self._managed(e) and e.enabled()

    def build_menu(self) -> Any:
        pystray = _pystray()
        items = []
        self._items: dict[str, Any] = {}
        for e in self.entries:
            if e.text == "-":
                items.append(pystray.Menu.SEPARATOR)
                continue
            kwargs: dict[str, Any] = {
                "enabled": (lambda _item, e=e: self._enabled(e)),
                "default": e.default,
            }
            if e.checked is not None:
                kwargs["checked"] = lambda _item, e=e: e.checked()  # type: ignore[misc]
            item = pystray.MenuItem(lambda _item, e=e: self._text(e), self._activator(e), **kwargs)
            self._items[e.id] = item
            items.append(item)
        return pystray.Menu(*items)

    def click(self, entry_id: str) -> bool:
        """Invoke a menu item exactly as the tray backend does on a click: ``item(icon)``.

        False when the item is disabled (the backend would not deliver the click).
        """
        item = self._items[entry_id]
        if not item.enabled:
            return False
        item(self.icon)
        return True

    def _activator(self, e: Entry) -> Callable[[Any, Any], None]:
        def activate(_icon: Any, _item: Any) -> None:
            self.activate(e.id)

        return activate

    def activate(self, entry_id: str) -> None:
        """Run a menu entry's action off the tray's thread (the backend must stay responsive)."""
        e = self.entry(entry_id)
        if e.action is None or not self._enabled(e):
            return
        if e.id == "quit":
            e.action()
            return
        with self._busy_lock:
            if e.id in self._busy:
                return
            self._busy.add(e.id)
        threading.Thread(target=self._run_action, args=(e,), name=f"tray-{e.id}").start()

    def _run_action(self, e: Entry) -> None:
        try:
            assert e.action is not None
            e.action()
        except DialogFailed as exc:
            self.tell("Dialog failed", str(exc))
        except LockedError as exc:
            self.tell("Managed by your organization", str(exc)[:200], "managed")
        except Exception as exc:
            log.exception("tray.action_failed", extra={"fields": {"entry": e.id}})
            self.tell(f"{e.text.rstrip('…')} failed", str(exc)[:200])
        finally:
            with self._busy_lock:
                self._busy.discard(e.id)
            self._refresh_menu()

    def describe(self) -> dict[str, Any]:
        """The visible state of the tray (automation, tests, diagnostics)."""
        return {
            "icon": self._view.icon,
            "tooltip": self._view.tooltip,
            "menu": [
                {
                    "id": e.id,
                    "text": self._text(e),
                    "enabled": e.action is not None and self._enabled(e),
                    "checked": e.checked() if e.checked else None,
                }
                for e in self.entries
                if e.text != "-"
            ],
            "notices": [n.__dict__ for n in self.sent],
            "running": self.icon is not None and bool(getattr(self.icon, "_running", False)),
        }

    # -- state ----------------------------------------------------------------------------
    def image(self, state: str) -> Any:
        if state not in self._images:
            self._images[state] = icons.draw(state, ICON_SIZE)
        return self._images[state]

    def on_snapshot(self, snap: dict[str, Any]) -> None:
        """Called on the core thread after every state change."""
        was = (self._snap.get("sidecar") or {}).get("state")
        self._snap = snap
        if (snap.get("sidecar") or {}).get("state") != was:
            self._wake.set()
        self._show(build_view({**snap, **self._live}))
        for notice in self.notices.update(snap):
            self.tell(notice.title, notice.message, notice.kind)
        self._announce_restore(snap)

    def _show(self, view: TrayView) -> None:
        old, self._view = self._view, view
        if self.icon is not None:
            if old.icon != view.icon:
                self.icon.icon = self.image(view.icon)
            if old.tooltip != view.tooltip:
                self.icon.title = view.tooltip
            if old != view:
                self._refresh_menu()

    def poll_headline(self) -> None:
        """Refresh the live parts of the headline from status (requests, start progress)."""
        try:
            full = self.port.call("status")
        except Exception:  # the agent is stopping: the core's snapshots still arrive
            return
        if not isinstance(full, dict):
            return
        self._live = {k: full[k] for k in LIVE_KEYS if k in full}
        self._show(build_view({**self._snap, **self._live}))

    def _headline_loop(self) -> None:
        while True:
            state = (self._snap.get("sidecar") or {}).get("state")
            starting = state in ("starting", "restarting")
            self._wake.wait(HEADLINE_POLL_STARTING if starting else HEADLINE_POLL)
            self._wake.clear()
            if self.quitting.is_set():
                return
            self.poll_headline()

    def _announce_restore(self, snap: dict[str, Any]) -> None:
        """A managed config.yaml the agent restored after an edit: say so, once per restore."""
        warnings = (snap.get("config") or {}).get("warnings") or []
        restored = [w for w in warnings if is_restore_warning(w)]
        ident = tuple(str(w.get("message")) for w in restored) or None
        if ident is not None and ident != self._restore_seen:
            self.tell("config.yaml restored", ident[0][:200], "config-restored")
        self._restore_seen = ident

    def _refresh_menu(self) -> None:
        if self.icon is not None:
            try:
                self.icon.update_menu()
            except Exception:
                log.exception("tray.menu_update_failed")

    def check_updates(self) -> None:
        from tray_agent.update.link import summary

        self.tell(*summary(self.port.call("update_check", install=True)), "update")

    def tell(self, title: str, message: str, kind: str = "info") -> None:
        self.sent.append(Notice(kind, title, message))
        del self.sent[:-50]
        log.info("tray.notify", extra={"fields": {"kind": kind, "title": title}})
        icon = self.icon
        if icon is not None and getattr(icon, "HAS_NOTIFICATION", False) and icon._running:
            try:
                icon.notify(message, title)
                return
            except Exception:
                log.exception("tray.notify_failed")
        desktop.notify(title, message)

    @staticmethod
    def _safe(fn: Callable[[], Any], default: Any) -> Any:
        try:
            return fn()
        except Exception:
            return default

    # -- run ------------------------------------------------------------------------------
    def run(self, setup: Callable[[], None] | None = None) -> None:
        """Show the icon and block until Quit (the backend's loop runs on this thread)."""
        factory = self._icon_factory or _pystray().Icon
        self.icon = factory(
            "litellm-bridge",
            icon=self.image(self._view.icon),
            title=self._view.tooltip,
            menu=self.build_menu(),
        )
        self.port.subscribe(self.on_snapshot)
        self.on_snapshot(self.port.snapshot())
        threading.Thread(target=self._headline_loop, name="tray-headline", daemon=True).start()

        def ready(icon: Any) -> None:
            icon.visible = True
            if setup is not None:
                setup()

        self.icon.run(setup=ready)

    def quit(self) -> None:
        if self.quitting.is_set():
            return
        self.quitting.set()
        self._wake.set()
        self.runner.close_all()
        if self.icon is not None:
            self.icon.stop()

    # -- actions --------------------------------------------------------------------------
    def _call(self, method: str, **params: Any) -> Any:
        return self.port.call(method, **params)

    def start(self) -> None:
        self._call("start")

    def stop(self) -> None:
        self._call("stop")

    def restart(self) -> None:
        self._call("restart")

    def sign_in(self) -> None:
        self.runner.run("signin", {})

    def _unlock(self) -> bool:
        """Ask for the local password unless it was given a moment ago."""
        if time.monotonic() < self._unlocked_until:
            return True
        create = not Account(self.paths.account_file).exists()
        result = self.runner.run("unlock", {"create": create})
        if result and result.get("ok"):
            self._unlocked_until = time.monotonic() + UNLOCK_TTL
            return True
        return False

    def edit_config(self) -> None:
        self._view.lock.check("config")
        if not self.paths.config_file.exists():
            self.first_run()
            return
        if self._unlock():
            desktop.edit_file(self.paths.config_file)

    def environment(self) -> None:
        if self._unlock():
            self.runner.run("env", {})

    def status(self) -> None:
        self.runner.run("status", {})

    def open_logs(self) -> None:
        self.paths.log_dir.mkdir(parents=True, exist_ok=True)
        desktop.open_folder(self.paths.log_dir)

    def setup_text(self) -> str:
        """The wizard's last page shows the same text (``setup_summary`` of the same URL)."""
        from tray_agent.clients.summary import setup_summary

        return setup_summary(self.port.snapshot()["sidecar"]["url"])

    def copy_setup(self) -> None:
        """Set up coding tools…: tick, diff, write with backups, test each (dialogs.tools)."""
        self.runner.run("tools", {"url": self.port.snapshot()["sidecar"]["url"]})

    def export_diagnostics(self) -> Path | None:
        """The full redacted bundle (``litellm-bridge diagnostics``) where the user chooses."""
        from tray_agent.diagnostics import export_diagnostics
        from tray_agent.diagnostics.bundle import default_name

        result = self.runner.run(
            "save", {"title": "Export diagnostics", "filename": default_name()}
        )
        if not result or not result.get("path"):
            return None
        target = export_diagnostics(self.paths, Path(result["path"]))
        self.tell("Diagnostics exported", f"Saved to {target}", "diagnostics")
        return target

    def export_audit(self) -> Path | None:
        """The audit log for the SIEM (as ``litellm-bridge audit export``): the dialog picks
        the format and file, verifies the log and writes it with a progress bar."""
        result = self.runner.run("audit_export", {})
        if not result or not result.get("path"):
            return None
        events = result.get("events")
        self.tell("Audit log exported", f"{events} events saved to {result['path']}", "audit")
        return Path(result["path"])

    def toggle_autostart(self) -> None:
        self._view.lock.check("autostart")  # the entry is greyed; refuse a direct call too
        want = not self._autostart
        autostart.set_enabled(want)
        self._autostart = autostart.is_enabled()

    def first_run(self) -> None:
        """The setup wizard; it signs in and starts the proxy through the control channel."""
        self.runner.run("wizard", {})

    def activate_first_run(self) -> None:
        threading.Thread(target=self._guarded_first_run, name="tray-wizard").start()

    def _guarded_first_run(self) -> None:
        try:
            self.first_run()
        except Exception as exc:
            log.exception("tray.wizard_failed")
            self.tell("Setup failed", str(exc)[:200])

    def needs_first_run(self) -> bool:
        return not Account(self.paths.account_file).exists() or not self.paths.config_file.exists()

    @property
    def view(self) -> TrayView:
        return self._view
