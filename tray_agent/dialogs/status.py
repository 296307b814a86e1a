"""Status: state, URL, paths, token expiry, restarts, the organization's management and
quotas, recent errors, live figures and charts of the last hour above the per-model table,
and a live log view."""

from __future__ import annotations

import contextlib
import time
import tkinter as tk
from dataclasses import dataclass
from tkinter import ttk
from typing import Any

from tray_agent.dialogs import status_parts as parts
from tray_agent.dialogs.base import ERROR_FG, Dialog
from tray_agent.dialogs.charts import LIGHT, Chart, palette_for
from tray_agent.dialogs.logtail import LEVELS, LogTail, line_level
from tray_agent.metrics.format import format_metrics

POLL_MS = 1000
SHOWN_LINES = 1500
LINES = 15  # height of the log view
TABLE_LINES = 8  # the per-model table under the charts


@dataclass(frozen=True)
class Polled:
    snap: dict[str, Any] | None
    metrics: dict[str, Any] | None
    error: str | None


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


def metrics_text(summary: dict[str, Any] | None, error: str | None = None) -> str:
    """The metrics as ``litellm-bridge metrics`` prints them, or why there are none."""
    if summary is not None:
        return format_metrics(summary)
    if error:
        return f"metrics unavailable: {error}"
    return "metrics unavailable: the agent is not running"


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
        self.metrics: dict[str, Any] | None = None
        style = ttk.Style(self.root)
        style.configure("Figure.TLabel", font=("TkDefaultFont", 11, "bold"))
        style.configure("Managed.TLabel", font=("TkDefaultFont", 10, "bold"))
        # Quota meters: the used part in the requests colour, red from 90 % on.
        for name, color in (("Quota", LIGHT.requests), ("QuotaFull", ERROR_FG)):
            style.configure(
                f"{name}.Horizontal.TProgressbar",
                background=color,
                troughcolor="#FFFFFF",
                thickness=self.px(12),
            )
        f = self.frame
        f.columnconfigure(0, weight=1)
        f.rowconfigure(4, weight=1)

        info = ttk.Frame(f)
        info.grid(row=0, column=0, sticky="ew")
        info.columnconfigure(1, weight=1)
        self.rows: dict[str, tk.StringVar] = {}
        for i, (k, v) in enumerate(summary_rows(None, paths)):
            self._row(info, i, k, v)
        self.info = info
        self._build_org(f)

        ttk.Label(f, text="Recent errors", style="Title.TLabel").grid(
            row=2, column=0, sticky="w", pady=(self.px(8), 0)
        )
        self.errors = tk.Text(f, height=3, wrap="word", takefocus=0)
        self.errors.tag_configure("error", foreground=ERROR_FG)
        self.errors.grid(row=3, column=0, sticky="ew")

        # Requests and log share one area: both at once do not fit a 768-pixel-high screen.
        self.tabs = ttk.Notebook(f)
        self.tabs.grid(row=4, column=0, sticky="nsew", pady=(self.px(8), 0))
        box = ttk.Frame(self.tabs, padding=self.px(6))
        box.columnconfigure(0, weight=1)
        box.rowconfigure(2, weight=1)
        self.tabs.add(box, text="Requests", underline=0)
        self.figures = tk.StringVar(f, value="waiting for the agent…")
        ttk.Label(box, textvariable=self.figures, style="Figure.TLabel").grid(
            row=0, column=0, columnspan=2, sticky="w"
        )
        self._build_charts(box)
        self.metrics_box = tk.Text(
            box, height=TABLE_LINES, width=110, wrap="none", font="TkFixedFont", takefocus=0
        )
        mscroll = ttk.Scrollbar(box, orient="vertical", command=self.metrics_box.yview)
        self.metrics_box.configure(yscrollcommand=mscroll.set)
        self.metrics_box.grid(row=2, column=0, sticky="nsew", pady=(self.px(6), 0))
        mscroll.grid(row=2, column=1, sticky="ns", pady=(self.px(6), 0))
        self.metrics_box.insert("1.0", "waiting for the agent…")
        self.metrics_box.configure(state="disabled")

        logs = ttk.Frame(self.tabs, padding=self.px(6))
        self.tabs.add(logs, text="Log", underline=0)
        self.tabs.enable_traversal()
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
        self.log = tk.Text(logs, height=LINES - 2, width=110, wrap="none", font="TkFixedFont")
        scroll = ttk.Scrollbar(logs, orient="vertical", command=self.log.yview)
        self.log.configure(yscrollcommand=scroll.set)
        self.log.grid(row=1, column=0, columnspan=6, sticky="nsew", pady=(self.px(6), 0))
        scroll.grid(row=1, column=6, sticky="ns", pady=(self.px(6), 0))
        self.log.tag_configure("error", foreground=ERROR_FG)
        self.log.tag_configure("warning", foreground="#8A5A00")
        self.log.tag_configure("hit", background="#FFF2A8")
        for var in (self.source, self.level, self.search):
            var.trace_add("write", lambda *_: self.render_log())

        self.buttons(f, 5, [("Close", self.done)])
        self.root.bind("<Return>", lambda _e: self.done())
        self.tabs.bind("<<NotebookTabChanged>>", self._tab_changed)
        self.tabs.focus_set()
        self.refresh()

    def _build_org(self, f: ttk.Frame) -> None:
        """Managed-by-your-organization line, quota meters and the last audit verification;
        each part is hidden while status has nothing for it."""
        org = ttk.Frame(f)
        org.grid(row=1, column=0, sticky="ew", pady=(self.px(6), 0))
        org.columnconfigure(2, weight=1)
        self.org = org
        self.managed = tk.StringVar(f, value="")
        self.managed_label = ttk.Label(org, textvariable=self.managed, style="Managed.TLabel")
        self.managed_label.grid(row=0, column=0, columnspan=3, sticky="w")
        self.managed_label.grid_remove()
        self.meters: dict[str, tuple[ttk.Progressbar, tk.StringVar]] = {}
        self.meter_widgets: list[tk.Misc] = []
        # -- last audit verify result: status["audit"]["last_verify"] (hidden without it)
        self.audit = tk.StringVar(f, value="")
        self.audit_key = ttk.Label(org, text="Audit log", style="Muted.TLabel")
        self.audit_label = ttk.Label(org, textvariable=self.audit)
        self.audit_key.grid(row=10, column=0, sticky="w")
        self.audit_label.grid(row=10, column=1, columnspan=2, sticky="w", padx=(self.px(10), 0))
        self.audit_key.grid_remove()
        self.audit_label.grid_remove()

    def _build_charts(self, box: ttk.Frame) -> None:
        row = ttk.Frame(box)
        row.grid(row=1, column=0, columnspan=2, sticky="ew", pady=(self.px(6), 0))
        self.palette = palette_for(box)
        made = [
            Chart(row, title, unit, scale=self.scale, palette=self.palette)
            for title, unit in (
                ("Requests per minute", ""),
                ("Latency p50 / p95 (ms)", " ms"),
                ("Errors per minute", ""),
            )
        ]
        for i, chart in enumerate(made):
            chart.canvas.grid(row=0, column=i, padx=(0 if i == 0 else self.px(8), 0))
        self.charts = dict(zip(("requests", "latency", "errors"), made, strict=True))

    def show_log(self) -> None:
        self.tabs.select(1)

    def _tab_changed(self, _event: object) -> None:
        if self.tabs.index("current") == 1:
            self.search_entry.focus_set()

    def _row(self, parent: ttk.Frame, i: int, key: str, value: str) -> None:
        ttk.Label(parent, text=key, style="Muted.TLabel").grid(row=i, column=0, sticky="w")
        var = tk.StringVar(parent, value=value)
        ttk.Label(parent, textvariable=var).grid(row=i, column=1, sticky="w", padx=(self.px(10), 0))
        self.rows[key] = var

    # -- live updates ------------------------------------------------------------------------
    def refresh(self) -> None:
        if not self._polling:
            self._polling = True
            self.background(self._fetch, self._show_all, lambda exc: self._show_all(None))
        new = sum(t.poll() for t in self.tails.values())
        if new:
            self.render_log()
        with contextlib.suppress(tk.TclError):
            self.root.after(POLL_MS, self.refresh)

    def _fetch(self) -> Polled:
        """One poll (in a worker thread): the status snapshot, then the metrics."""
        try:
            snap: dict[str, Any] | None = self.services.call("status", timeout=5)
        except Exception:
            snap = None
        summary: dict[str, Any] | None = None
        error = None
        if snap is not None:
            try:
                summary = self.services.metrics()
            except Exception as exc:
                error = str(exc) or type(exc).__name__
        return Polled(snap, summary, error)

    def _show_all(self, polled: Polled | None) -> None:
        polled = polled or Polled(None, None, None)
        self._show(polled.snap)
        self.metrics = polled.metrics
        self._set_text(self.metrics_box, metrics_text(polled.metrics, polled.error))
        self.figures.set(parts.live_figures(polled.metrics))
        data = parts.chart_data(polled.metrics, self.palette)
        self.charts["requests"].draw(data.requests, data.captions[0])
        self.charts["latency"].draw(data.latency, "")
        self.charts["errors"].draw(data.errors, data.captions[2])

    @staticmethod
    def _set_text(box: tk.Text, text: str) -> None:
        if box.get("1.0", "end-1c") == text:
            return
        top = box.yview()[0]
        box.configure(state="normal")
        box.delete("1.0", "end")
        box.insert("1.0", text)
        box.configure(state="disabled")
        box.yview_moveto(top)  # a refresh must not scroll away what the user is reading

    def _show(self, snap: dict[str, Any] | None) -> None:
        self._polling = False
        self.snap = snap
        for i, (k, v) in enumerate(summary_rows(snap, self.services.paths)):
            if k in self.rows:
                self.rows[k].set(v)
            else:
                self._row(self.info, i, k, v)
        self._show_org(snap)
        errs = recent_errors(snap)
        text = "\n".join(errs) if errs else "none"
        if self.errors.get("1.0", "end-1c") != text:
            self.errors.configure(state="normal")
            self.errors.delete("1.0", "end")
            self.errors.insert("1.0", text, "error" if errs else "")
            self.errors.configure(state="disabled")

    def _show_org(self, snap: dict[str, Any] | None) -> None:
        policy = (snap or {}).get("policy")
        managed = parts.managed_text(policy)
        self.managed.set(managed or "")
        (self.managed_label.grid if managed else self.managed_label.grid_remove)()
        quotas = parts.quotas(policy)
        if [q.label for q in quotas] != list(self.meters):
            for w in self.meter_widgets:
                w.destroy()
            self.meters, self.meter_widgets = {}, []
            for i, q in enumerate(quotas, start=1):
                key = ttk.Label(self.org, text=q.label, style="Muted.TLabel")
                bar = ttk.Progressbar(self.org, maximum=1000, length=self.px(160))
                var = tk.StringVar(self.org, value="")
                text = ttk.Label(self.org, textvariable=var)
                key.grid(row=i, column=0, sticky="w")
                bar.grid(row=i, column=1, sticky="w", padx=(self.px(10), 0))
                text.grid(row=i, column=2, sticky="w", padx=(self.px(8), 0))
                self.meters[q.label] = (bar, var)
                self.meter_widgets += [key, bar, text]
        for q in quotas:
            bar, var = self.meters[q.label]
            style = "QuotaFull" if q.nearly_used else "Quota"
            bar.configure(value=round(q.fraction * 1000), style=f"{style}.Horizontal.TProgressbar")
            var.set(q.text())
        audit = parts.audit_text(snap)
        if audit is None:
            self.audit_key.grid_remove()
            self.audit_label.grid_remove()
        else:
            self.audit.set(audit[0])
            self.audit_label.configure(style="TLabel" if audit[1] else "Error.TLabel")
            self.audit_key.grid()
            self.audit_label.grid()

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
