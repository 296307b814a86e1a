"""Set up coding tools: tick tools, see the diff (key masked), write with backups, test each.

``ToolsPanel`` is shared by the tray's "Set up coding tools…" (``ToolsDialog``) and the
wizard's last step. It does what ``litellm-bridge clients setup`` and ``clients test`` do,
through the same functions, so a tool set up here is the one the commands see.
"""

from __future__ import annotations

import os
import tkinter as tk
from collections.abc import Callable
from dataclasses import dataclass
from tkinter import ttk
from typing import Any

from tray_agent.clients import Target, key_command
from tray_agent.clients.setup import SetupPlan, apply_setup, mask, plan_setup, restore
from tray_agent.clients.states import ToolState, tool_states
from tray_agent.clients.tooltest import ToolTest, check_tool
from tray_agent.dialogs.base import Dialog

OWN_DEFAULT = "(each tool's own default)"
DIFF_LINES = 12
DIFF_COLUMNS = 90


@dataclass
class Loaded:
    target: Target
    models: list[str]
    states: list[ToolState]
    locked: str | None


def load(services: Any, url: str | None) -> Loaded:
    """The bridge URL and key from the agent, its served models, each tool's state, the lock."""
    import httpx

    from tray_agent.policy.lock import for_dialog

    if not url:
        url = str(services.call("status", timeout=10)["sidecar"]["url"])
    key = str(services.call("key", timeout=10)["key"])
    models: list[str] = []
    try:
        with httpx.Client(timeout=10, trust_env=False) as http:
            resp = http.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {key}"})
        models = [str(m["id"]) for m in resp.json().get("data") or []]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        pass  # the list is a convenience: the tools' own defaults still work
    target = Target(url.rstrip("/"), key, services.paths, None, key_command())
    lock = for_dialog(services)
    locked = lock.message("clients") if lock.is_locked("clients") else None
    return Loaded(target, models, tool_states(target), locked)


class ToolsPanel:
    """The tool list, model choice, diff and buttons, placed at ``row`` of ``parent``."""

    def __init__(
        self,
        dialog: Dialog,
        parent: ttk.Frame,
        row: int,
        url: str | None = None,
        on_tested: Callable[[dict[str, ToolTest]], None] | None = None,
        *,
        preselect: list[str] | None = None,
        auto_apply: bool = False,
    ) -> None:
        self.d = dialog
        self.preselect = preselect
        self.auto_apply = auto_apply
        self.on_tested = on_tested
        self.loaded: Loaded | None = None
        self.ticks: dict[str, tk.BooleanVar] = {}
        self.results: dict[str, tk.StringVar] = {}
        self.result_labels: dict[str, ttk.Label] = {}
        self.tests: dict[str, ToolTest] = {}
        self.set_up: list[str] = []
        self.copied: list[str] = []
        px = dialog.px
        self.frame = ttk.Frame(parent)
        self.frame.grid(row=row, column=0, columnspan=3, sticky="nsew")
        self.frame.columnconfigure(0, weight=1)
        parent.rowconfigure(row, weight=1)
        parent.columnconfigure(0, weight=1)
        self.intro = tk.StringVar(self.frame, value="Looking for your coding tools…")
        ttk.Label(self.frame, textvariable=self.intro, wraplength=px(620)).grid(
            row=0, column=0, sticky="w"
        )
        self.rows = ttk.Frame(self.frame)
        self.rows.grid(row=1, column=0, sticky="ew", pady=(px(6), 0))
        self.rows.columnconfigure(2, weight=1)
        bar = ttk.Frame(self.frame)
        bar.grid(row=2, column=0, sticky="w", pady=(px(8), 0))
        ttk.Label(bar, text="Model for the tools").grid(row=0, column=0, padx=(0, px(6)))
        self.model = tk.StringVar(self.frame, value=OWN_DEFAULT)
        self.model_box = ttk.Combobox(
            bar, textvariable=self.model, values=[OWN_DEFAULT], state="readonly", width=34
        )
        self.model_box.grid(row=0, column=1)
        self.model_box.bind("<<ComboboxSelected>>", lambda _e: self.refresh_diff())
        self.diff = tk.Text(
            self.frame, height=DIFF_LINES, width=DIFF_COLUMNS, wrap="none", font="TkFixedFont"
        )
        self.diff.grid(row=3, column=0, sticky="nsew", pady=(px(8), 0))
        self.frame.rowconfigure(3, weight=1)
        self.diff.configure(state="disabled")
        buttons = ttk.Frame(self.frame)
        buttons.grid(row=4, column=0, sticky="w", pady=(px(8), 0))
        self.setup_button = ttk.Button(buttons, text="Set up and test", command=self.apply)
        self.setup_button.grid(row=0, column=0)
        self.restore_button = ttk.Button(buttons, text="Restore", command=self.restore)
        self.restore_button.grid(row=0, column=1, padx=(px(6), 0))
        self.copy_button = ttk.Button(buttons, text="Copy by-hand setup", command=self.copy)
        self.copy_button.grid(row=0, column=2, padx=(px(6), 0))
        for b in (self.setup_button, self.restore_button):
            b.state(["disabled"])
        self.note = tk.StringVar(self.frame, value="")
        ttk.Label(
            self.frame, textvariable=self.note, style="Muted.TLabel", wraplength=px(620)
        ).grid(row=5, column=0, sticky="w", pady=(px(4), 0))
        dialog.background(lambda: load(dialog.services, url), self._loaded, self._load_failed)

    # -- loading ---------------------------------------------------------------------------
    def _load_failed(self, exc: Exception) -> None:
        self.intro.set(f"Cannot reach the bridge: {exc}. Start it from the tray, then reopen this.")

    def _loaded(self, loaded: Loaded) -> None:
        self.loaded = loaded
        px = self.d.px
        self.intro.set(
            f"Tick the tools to point at the bridge at {loaded.target.url}. Each file is backed "
            "up before it is written; Restore puts it back."
        )
        self.model_box.configure(values=[OWN_DEFAULT, *loaded.models])
        if loaded.models:
            self.model.set(loaded.models[0])
        self.state_labels: dict[str, tk.StringVar] = {}
        for i, st in enumerate(loaded.states):
            name = st.client.name
            var = tk.BooleanVar(self.rows, value=st.ticked)
            var.trace_add("write", lambda *_a: self.refresh_diff())
            self.ticks[name] = var
            ttk.Checkbutton(self.rows, text=st.client.title, variable=var).grid(
                row=2 * i, column=0, sticky="w", pady=(px(2), 0)
            )
            self.state_labels[name] = tk.StringVar(self.rows, value=st.label)
            ttk.Label(self.rows, textvariable=self.state_labels[name], style="Muted.TLabel").grid(
                row=2 * i, column=1, sticky="w", padx=(px(10), 0)
            )
            self.results[name] = tk.StringVar(self.rows, value="")
            label = ttk.Label(self.rows, textvariable=self.results[name], wraplength=px(600))
            label.grid(row=2 * i + 1, column=0, columnspan=3, sticky="w", padx=(px(24), 0))
            label.grid_remove()
            self.result_labels[name] = label
        if self.preselect is not None:  # chosen on the wizard's page before
            for name, var in self.ticks.items():
                var.set(name in self.preselect)
        if loaded.locked:
            self.note.set(loaded.locked)
        else:
            self.setup_button.state(["!disabled"])
            self.restore_button.state(["!disabled"])
            self.setup_button.focus_set()
        self.refresh_diff()
        if self.auto_apply and not loaded.locked and self.ticked():
            self.apply()

    # -- what would be written -------------------------------------------------------------
    def target(self) -> Target:
        assert self.loaded is not None
        t = self.loaded.target
        model = self.model.get()
        return Target(t.url, t.key, t.paths, None if model == OWN_DEFAULT else model, t.key_command)

    def ticked(self) -> list[ToolState]:
        if self.loaded is None:
            return []
        return [s for s in self.loaded.states if self.ticks[s.client.name].get()]

    def plans(self) -> list[SetupPlan]:
        target = self.target()
        return [plan_setup(s.client, target) for s in self.ticked()]

    def refresh_diff(self) -> None:
        try:
            plans = self.plans()
            text = "".join(p.diff() for p in plans if p.changed)
            if not text:
                text = "Nothing to change for the ticked tools.\n" if plans else ""
        except Exception as exc:
            text = f"Cannot prepare the setup: {exc}\n"
        self.show_diff(text)

    def show_diff(self, text: str) -> None:
        self.diff.configure(state="normal")
        self.diff.delete("1.0", "end")
        self.diff.insert("1.0", text)
        self.diff.configure(state="disabled")

    def shown_diff(self) -> str:
        return self.diff.get("1.0", "end-1c")

    def refresh_states(self) -> None:
        """Each tool's state after a write or restore (the ticks stay as the user left them)."""
        if self.loaded is None:
            return
        self.loaded.states = tool_states(self.loaded.target)
        for st in self.loaded.states:
            self.state_labels[st.client.name].set(st.label)

    def set_result(self, name: str, text: str, ok: bool | None) -> None:
        self.results[name].set(text)
        label = self.result_labels[name]
        label.configure(style="Error.TLabel" if ok is False else "TLabel")
        label.grid()

    # -- actions ---------------------------------------------------------------------------
    def apply(self) -> None:
        try:
            plans = self.plans()
        except Exception as exc:
            self.note.set(f"Nothing written: {exc}")
            return
        if not plans:
            self.note.set("Tick at least one tool.")
            return
        self.setup_button.state(["disabled"])
        self.note.set("Backing up and writing…")
        written_diff = "".join(p.diff() for p in plans if p.changed)

        def work() -> list[tuple[str, str | None]]:
            out = []
            for plan in plans:
                try:
                    backup = apply_setup(plan)
                    out.append((plan.client.name, None if backup is None else str(backup)))
                except Exception as exc:
                    out.append((plan.client.name, f"error: {exc}"))
            return out

        def written(done: list[tuple[str, str | None]]) -> None:
            failed = [(n, b) for n, b in done if b and b.startswith("error: ")]
            for name, message in failed:
                self.set_result(name, f"Not written: {message.removeprefix('error: ')}", False)
            ok = [n for n, b in done if not (b and b.startswith("error: "))]
            self.set_up.extend(ok)
            self.note.set("Written (backups kept; Restore undoes it). Testing each tool…")
            self.refresh_states()
            # What was written stays in view (key masked), for a setup nobody previewed.
            self.show_diff(f"Written:\n{written_diff}" if written_diff else "Nothing changed.\n")
            self.test(ok)

        self.d.background(work, written, lambda exc: self.note.set(f"Not written: {exc}"))

    def test(self, names: list[str]) -> None:
        assert self.loaded is not None
        by_name = {s.client.name: s.client for s in self.loaded.states}
        if not names:
            self.setup_button.state(["!disabled"])
            return
        name, rest = names[0], names[1:]
        self.set_result(name, f"Testing {by_name[name].title}…", None)
        key = self.loaded.target.key
        paths = self.loaded.target.paths

        def work() -> ToolTest:
            # Codex reads its key from a variable this process may lack: the key is passed.
            return check_tool(by_name[name], paths, environ=dict(os.environ), fallback_key=key)

        def done(result: ToolTest) -> None:
            self.tests[name] = result
            self.set_result(name, mask(result.line(), key), result.ok)
            if rest:
                self.test(rest)
                return
            self.setup_button.state(["!disabled"])
            good = sum(t.ok for t in self.tests.values())
            self.note.set(f"{good} of {len(self.tests)} tools answered through the bridge.")
            if self.on_tested is not None:
                self.on_tested(dict(self.tests))

        def failed(exc: Exception) -> None:
            self.set_result(name, f"{by_name[name].title}: the test failed: {exc}", False)
            self.test(rest)

        self.d.background(work, done, failed)

    def restore(self) -> None:
        if self.loaded is None:
            return
        lines = []
        for st in self.ticked():
            try:
                done = restore(self.loaded.target.paths, st.client)
                lines.append(f"{st.client.title}: " + "; ".join(done))
                self.set_result(st.client.name, f"Restored: {'; '.join(done)}", None)
            except Exception as exc:
                self.set_result(st.client.name, f"Not restored: {exc}", False)
        self.note.set("\n".join(lines) if lines else "Nothing restored.")
        self.refresh_states()
        self.refresh_diff()

    def copy(self) -> None:
        from tray_agent.clients.summary import setup_summary

        url = self.loaded.target.url if self.loaded else "http://127.0.0.1:4000"
        root = self.d.root
        root.clipboard_clear()
        root.clipboard_append(setup_summary(url))
        self.copied.append("setup")
        self.note.set("Copied the by-hand setup (the key shown as $LITELLM_BRIDGE_API_KEY).")

    def result(self) -> dict[str, Any]:
        return {
            "set_up": list(self.set_up),
            "tests": {n: {"ok": t.ok, "line": t.line()} for n, t in self.tests.items()},
            "copied": list(self.copied),
        }


class ToolsDialog(Dialog):
    title = "LiteLLM Bridge: set up coding tools"

    def build(self) -> None:
        f = self.frame
        ttk.Label(f, text="Set up coding tools", style="Title.TLabel").grid(
            row=0, column=0, sticky="w", pady=(0, self.px(6))
        )
        self.panel = ToolsPanel(self, f, 1, str(self.params.get("url") or "") or None)
        self.buttons(f, 2, [("Close", self.done)])

    def done(self) -> None:
        self.finish({"ok": True, **self.panel.result()})
