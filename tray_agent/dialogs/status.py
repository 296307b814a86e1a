"""Status: state, URL, paths, token expiry, restarts, recent errors and a live log view."""

from __future__ import annotations

import contextlib
import time
import tkinter as tk
from tkinter import ttk
from typing import Any

from tray_agent.dialogs.base import ERROR_FG, Dialog
from tray_agent.dialogs.logtail import LEVELS, LogTail, line_level

POLL_MS = 1000
SHOWN_LINES = 1500


def _ts(epoch: float | None) -> str:
    if not epoch:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def summary_rows(snap: dict[str, Any] | None, paths: Any) -> list[tuple[str, str]]:
    if snap is None:
        return [
            ("Proxy", "unknown: the agent is not running"),
            ("URL", "-"),
            ("Token", "-"),
            ("Restarts", "-"),
            ("Config", str(paths.config_file)),
            ("Logs", str(paths.log_dir)),
            ("Keyring", "-"),
        ]
    sc, cfg, tok = snap["sidecar"], snap["config"], snap.get("token", {})
    state = sc["state"] + (f" (pid {sc['pid']})" if sc.get("pid") else "")
    token = str(tok.get("state", "-"))
    if tok.get("expires_at"):
        token += f", expires {_ts(tok['expires_at'])}"
    if tok.get("employee_id"):
        token += f", {tok['employee_id']}"
    valid = {True: "valid", False: "has errors", None: "not loaded"}[cfg.get("valid")]
    return [
        ("Proxy", state),
        ("URL", sc["url"]),
        ("Token", token),
        ("Restarts", str(sc.get("restarts", 0))),
        ("Config", f"{cfg['path']} ({valid})"),
        ("Logs", str(paths.log_dir)),
        ("Keyring", str(snap.get("keyring", {}).get("backend", "-"))),
    ]


def recent_errors(snap: dict[str, Any] | None) -> list[str]:
    if snap is None:
        return []
    out = []
    sc, cfg = snap["sidecar"], snap["config"]
    if sc.get("error"):
        out.append(f"proxy: {sc['error']}")
    for e in cfg.get("errors") or []:
        loc = ":".join(str(x) for x in (e.get("file"), e.get("line"), e.get("column")) if x)
        out.append(f"{loc}: {e.get('message')}")
    if cfg.get("apply_error"):
        out.append(str(cfg["apply_error"]))
    tok = snap.get("token", {})
    if tok.get("last_error"):
        out.append(f"token: {tok['last_error']}")
    for e in snap.get("errors", []) or []:
        out.append(f"{e.get('kind')} x{e.get('count')}: {e.get('hint')}")
    out += [f"output: {ln}" for ln in (sc.get("last_output") or [])[-5:]]
    return out


class StatusDialog(Dialog):
    title = "LiteLLM Bridge: status"

    def build(self) -> None:
        paths = self.services.paths
        self.snap: dict[str, Any] | None = None
        self.tails = {"agent": LogTail(paths.agent_log), "sidecar": LogTail(paths.sidecar_log)}
        self._polling = False
        f = self.frame
        f.columnconfigure(0, weight=1)
        f.rowconfigure(3, weight=1)

        info = ttk.Frame(f)
        info.grid(row=0, column=0, sticky="ew")
        info.columnconfigure(1, weight=1)
        self.rows: dict[str, tk.StringVar] = {}
        for i, (k, v) in enumerate(summary_rows(None, paths)):
            self._row(info, i, k, v)
        self.info = info

        ttk.Label(f, text="Recent errors", style="Title.TLabel").grid(
            row=1, column=0, sticky="w", pady=(self.px(8), 0)
        )
        self.errors = tk.Text(f, height=4, wrap="word", takefocus=0)
        self.errors.tag_configure("error", foreground=ERROR_FG)
        self.errors.grid(row=2, column=0, sticky="ew")

        logs = ttk.LabelFrame(f, text="Log", padding=self.px(6))
        logs.grid(row=3, column=0, sticky="nsew", pady=(self.px(8), 0))
        logs.columnconfigure(5, weight=1)
        logs.rowconfigure(1, weight=1)
        ttk.Label(logs, text="Source").grid(row=0, column=0)
        self.source = tk.StringVar(f, value="agent")
        src = ttk.Combobox(
            logs, textvariable=self.source, values=("agent", "sidecar"), state="readonly", width=9
        )
        src.grid(row=0, column=1, padx=(self.px(4), self.px(10)))
        ttk.Label(logs, text="Level").grid(row=0, column=2)
        self.level = tk.StringVar(f, value="ALL")
        lvl = ttk.Combobox(
            logs, textvariable=self.level, values=("ALL", *LEVELS[1:]), state="readonly", width=9
        )
        lvl.grid(row=0, column=3, padx=(self.px(4), self.px(10)))
        ttk.Label(logs, text="Search").grid(row=0, column=4)
        self.search = tk.StringVar(f, value="")
        self.search_entry = ttk.Entry(logs, textvariable=self.search)
        self.search_entry.grid(row=0, column=5, sticky="ew", padx=(self.px(4), 0))
        self.log = tk.Text(logs, height=16, width=110, wrap="none", font="TkFixedFont")
        scroll = ttk.Scrollbar(logs, orient="vertical", command=self.log.yview)
        self.log.configure(yscrollcommand=scroll.set)
        self.log.grid(row=1, column=0, columnspan=6, sticky="nsew", pady=(self.px(6), 0))
        scroll.grid(row=1, column=6, sticky="ns", pady=(self.px(6), 0))
        self.log.tag_configure("error", foreground=ERROR_FG)
        self.log.tag_configure("warning", foreground="#8A5A00")
        self.log.tag_configure("hit", background="#FFF2A8")
        for var in (self.source, self.level, self.search):
            var.trace_add("write", lambda *_: self.render_log())

        self.buttons(f, 4, [("Close", self.done)])
        self.root.bind("<Return>", lambda _e: self.done())
        self.search_entry.focus_set()
        self.refresh()

    def _row(self, parent: ttk.Frame, i: int, key: str, value: str) -> None:
        ttk.Label(parent, text=key, style="Muted.TLabel").grid(row=i, column=0, sticky="w")
        var = tk.StringVar(parent, value=value)
        ttk.Label(parent, textvariable=var).grid(row=i, column=1, sticky="w", padx=(self.px(10), 0))
        self.rows[key] = var

    # -- live updates ------------------------------------------------------------------------
    def refresh(self) -> None:
        if not self._polling:
            self._polling = True
            self.background(self._fetch, self._show, lambda exc: self._show(None))
        new = sum(t.poll() for t in self.tails.values())
        if new:
            self.render_log()
        with contextlib.suppress(tk.TclError):
            self.root.after(POLL_MS, self.refresh)

    def _fetch(self) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = self.services.call("status", timeout=5)
            return result
        except Exception:
            return None

    def _show(self, snap: dict[str, Any] | None) -> None:
        self._polling = False
        self.snap = snap
        for i, (k, v) in enumerate(summary_rows(snap, self.services.paths)):
            if k in self.rows:
                self.rows[k].set(v)
            else:
                self._row(self.info, i, k, v)
        errs = recent_errors(snap)
        text = "\n".join(errs) if errs else "none"
        if self.errors.get("1.0", "end-1c") != text:
            self.errors.configure(state="normal")
            self.errors.delete("1.0", "end")
            self.errors.insert("1.0", text, "error" if errs else "")
            self.errors.configure(state="disabled")

    def shown_lines(self) -> list[str]:
        tail = self.tails[self.source.get()]
        return tail.filtered(self.level.get(), self.search.get().strip())[-SHOWN_LINES:]

    def render_log(self) -> None:
        at_end = self.log.yview()[1] >= 0.999
        lines = self.shown_lines()
        self.log.configure(state="normal")
        self.log.delete("1.0", "end")
        needle = self.search.get().strip().lower()

        for ln in lines:
            lvl = line_level(ln)
            tag = "error" if lvl in ("ERROR", "CRITICAL") else "warning" if lvl == "WARNING" else ""
            start = self.log.index("end-1c")
            self.log.insert("end", ln + "\n", tag)
            if needle:
                pos = ln.lower().find(needle)
                if pos >= 0:
                    self.log.tag_add("hit", f"{start}+{pos}c", f"{start}+{pos + len(needle)}c")
        self.log.configure(state="disabled")
        if at_end:
            self.log.see("end")

    def done(self) -> None:
        self.finish({"ok": True})
