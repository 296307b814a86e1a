"""Export audit log…: pick a format, a file and optionally a time range; a progress bar while
the log is verified and written (``audit/export.py``, the same as ``litellm-bridge audit
export``). The export runs in this dialog's process, in a thread; the result names the file.
"""

from __future__ import annotations

import time
import tkinter as tk
from pathlib import Path
from tkinter import filedialog, ttk
from typing import Any

from tray_agent.dialogs.base import Dialog, Field
from tray_agent.dialogs.save import default_dir

FORMATS = (
    ("ocsf", "OCSF 1.6 (API Activity, JSON Lines)", ".ocsf.jsonl"),
    ("cef", "CEF (ArcSight Common Event Format)", ".cef"),
    ("jsonl", "JSON Lines (the audit lines as they are)", ".jsonl"),
)
SUFFIXES = tuple(s for _f, _t, s in FORMATS)
PROGRESS_EVERY = 0.1  # seconds between progress updates sent to the Tk thread


def default_name(fmt: str, now: float | None = None) -> str:
    day = time.strftime("%Y%m%d", time.localtime(now))
    return f"litellm-bridge-audit-{day}" + dict((f, s) for f, _t, s in FORMATS)[fmt]


class AuditExportDialog(Dialog):
    title = "LiteLLM Bridge: Export audit log"

    def build(self) -> None:
        f = self.frame
        f.columnconfigure(1, weight=1)
        ttk.Label(f, text="Export audit log", style="Title.TLabel").grid(
            row=0, column=0, columnspan=3, sticky="w"
        )
        ttk.Label(
            f,
            text="For your security team's SIEM. The log is verified first; the file can be "
            "checked later with litellm-bridge audit verify FILE.",
            wraplength=self.px(440),
            style="Muted.TLabel",
        ).grid(row=1, column=0, columnspan=3, sticky="w", pady=(self.px(4), 0))
        self.format = tk.StringVar(f, value=str(self.params.get("format") or "ocsf"))
        box = ttk.Frame(f)
        box.grid(row=2, column=0, columnspan=3, sticky="w", pady=(self.px(8), 0))
        ttk.Label(box, text="Format").grid(row=0, column=0, sticky="nw", padx=(0, self.px(6)))
        for i, (fmt, text, _suffix) in enumerate(FORMATS):
            ttk.Radiobutton(
                box, text=text, value=fmt, variable=self.format, command=self._format_changed
            ).grid(row=i, column=1, sticky="w")
        start = Path(self.params.get("directory") or default_dir())
        self.path = Field(f, 3, "Save as", value=str(start / default_name(self.format.get())))
        ttk.Button(f, text="Browse…", command=self.browse).grid(
            row=3, column=2, padx=(self.px(6), 0), pady=(self.px(6), 0)
        )
        self.since = Field(f, 5, "From (optional)", value=str(self.params.get("since") or ""))
        self.until = Field(f, 7, "Until (optional)", value=str(self.params.get("until") or ""))
        ttk.Label(
            f, text="a date (2026-12-01) or a time (2026-12-01T08:00Z)", style="Muted.TLabel"
        ).grid(row=9, column=1, sticky="w")
        self.bar = ttk.Progressbar(f, mode="determinate", maximum=1000)
        self.bar.grid(row=10, column=0, columnspan=3, sticky="ew", pady=(self.px(12), 0))
        self.status = tk.StringVar(f, value="")
        self.status_label = ttk.Label(
            f, textvariable=self.status, wraplength=self.px(440), style="Muted.TLabel"
        )
        self.status_label.grid(row=11, column=0, columnspan=3, sticky="w")
        self.ok, self.cancel_button = self.buttons(
            f, 12, [("Export", self.submit), ("Cancel", self.cancel)]
        )
        self.root.bind("<Return>", lambda _e: self.submit())
        self.path.entry.focus_set()
        self.path.entry.icursor("end")

    def _format_changed(self) -> None:
        """Follow the format with the file's suffix, unless the user named it otherwise."""
        current = self.path.value
        for suffix in SUFFIXES:
            if current.endswith(suffix):
                base = current[: -len(suffix)]
                self.path.var.set(base + dict((f, s) for f, _t, s in FORMATS)[self.format.get()])
                return

    def browse(self) -> None:
        current = Path(self.path.value).expanduser()
        chosen = filedialog.asksaveasfilename(
            parent=self.root, initialdir=str(current.parent), initialfile=current.name
        )
        if chosen:
            self.path.var.set(chosen)

    def _times(self) -> tuple[float | None, float | None] | None:
        from tray_agent.audit.export import parse_when

        out: list[float | None] = []
        for fld, end in ((self.since, False), (self.until, True)):
            text = fld.value.strip()
            try:
                out.append(parse_when(text, end=end) if text else None)
            except ValueError as exc:
                fld.set_error(str(exc))
                return None
        return out[0], out[1]

    def submit(self) -> None:
        if "disabled" in self.ok.state():
            return
        target = Path(self.path.value.strip()).expanduser()
        if not self.path.value.strip():
            self.path.set_error("choose a file name")
            return
        if not target.parent.is_dir():
            self.path.set_error(f"the folder {target.parent} does not exist")
            return
        if target.is_dir():
            self.path.set_error("that is a folder: add a file name")
            return
        times = self._times()
        if times is None:
            return
        self.ok.state(["disabled"])
        self.status_label.configure(style="Muted.TLabel")
        self.status.set("Verifying the audit log…")
        fmt = self.format.get()
        self.background(lambda: self._export(target, fmt, *times), self._done, self._failed)

    def _export(self, target: Path, fmt: str, since: float | None, until: float | None) -> Any:
        """Runs in a thread: progress goes to the Tk thread through the job queue."""
        from tray_agent.audit.action import note
        from tray_agent.audit.export import ExportRefused, export_log
        from tray_agent.audit.keys import installation_keys, load_signer, sealed_head

        audit_dir = self.services.paths.audit_dir
        signer = load_signer(self.services.secrets, audit_dir, create=False)
        if signer is None:
            raise ExportRefused(
                "there is no audit signing key in the keyring yet: start the proxy once, "
                "then export again"
            )
        last = [0.0]

        def progress(share: float, what: str) -> None:
            if time.monotonic() - last[0] >= PROGRESS_EVERY or share >= 1.0:
                last[0] = time.monotonic()
                self._jobs.put(lambda: self._progress(share, what))

        done = export_log(
            audit_dir,
            target,
            fmt,
            signer,
            installation_keys(self.services.secrets, audit_dir),
            since=since,
            until=until,
            progress=progress,
            sealed=sealed_head(self.services.secrets),
        )
        note(
            "audit.exported",
            format=fmt,
            path=str(target),
            events=done.events,
            first_seq=done.first_seq,
            last_seq=done.last_seq,
        )
        return done

    def _progress(self, share: float, what: str) -> None:
        self.bar.configure(value=int(share * 1000))
        self.status.set(
            {"verifying": "Verifying the audit log…", "writing": "Writing…"}.get(what, "Done")
        )

    def _done(self, done: Any) -> None:
        self.bar.configure(value=1000)
        self.finish(
            {
                "path": str(done.path),
                "format": done.format,
                "events": done.events,
                "first_seq": done.first_seq,
                "last_seq": done.last_seq,
                "warnings": list(done.warnings),
            }
        )

    def _failed(self, exc: Exception) -> None:
        self.ok.state(["!disabled"])
        self.bar.configure(value=0)
        self.status_label.configure(style="Error.TLabel")
        self.status.set(f"Not exported: {exc}")
