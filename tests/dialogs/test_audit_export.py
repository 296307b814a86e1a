"""Export audit log…: the dialog verifies and writes a real log with a moving progress bar,
follows the format with the file's suffix, and says why when the log does not verify."""

from __future__ import annotations

from pathlib import Path

from tests.audit.logmaker import make_log
from tests.dialogs.conftest import FakeServices, Harness, press
from tray_agent.audit.chain import decode
from tray_agent.audit.log import lines_of, log_files
from tray_agent.audit.verify import verify_path
from tray_agent.dialogs.audit_export import AuditExportDialog


def test_the_dialog_exports_with_progress_and_the_file_verifies(
    ui: Harness, services: FakeServices
) -> None:
    log = make_log(services.paths.audit_dir, days=3, per_day=600)
    services.secrets = log.store
    folder = services.paths.config_dir.parent
    dlg = ui.open(AuditExportDialog, {"directory": str(folder)}, services)
    assert isinstance(dlg, AuditExportDialog)
    assert dlg.path.value.endswith(".ocsf.jsonl")
    dlg.format.set("cef")
    dlg._format_changed()
    assert dlg.path.value.endswith(".cef") and not dlg.path.value.endswith(".ocsf.cef")
    ui.shot(dlg, "audit-export")
    seen: list[float] = []
    press(dlg.path.entry, "Return")

    def finished() -> bool:
        if dlg.result is not None:  # the window is gone
            return True
        seen.append(float(dlg.bar.cget("value")))
        return False

    ui.until(finished, timeout=60, what="the export")
    assert dlg.result is not None and dlg.result.get("format") == "cef", dlg.status.get()
    assert any(0 < v < 1000 for v in seen), seen  # the bar moved before the end
    target = Path(str(dlg.result["path"]))
    assert target.parent == folder
    report = verify_path(target, log.keys)
    assert report.ok, report.problem
    assert report.events == dlg.result["events"] > 1800
    last = [raw for p in log_files(log.dir) for _n, raw, _c in lines_of(p)][-1]
    assert decode(last)["event"] == "audit.exported"  # the dialog recorded it


def test_a_log_that_does_not_verify_is_not_exported_and_the_dialog_says_where(
    ui: Harness, services: FakeServices
) -> None:
    log = make_log(services.paths.audit_dir, days=1, per_day=10)
    services.secrets = log.store
    victim = log_files(log.dir)[0]
    raw = victim.read_bytes().replace(b'"tokens_in":12,', b'"tokens_in":13,', 1)
    victim.write_bytes(raw)
    folder = services.paths.config_dir.parent
    dlg = ui.open(AuditExportDialog, {"directory": str(folder)}, services)
    assert isinstance(dlg, AuditExportDialog)
    dlg.since.var.set("last week")
    dlg.submit()
    assert "not a date or time" in dlg.since.error_var.get()
    dlg.since.var.set("")
    dlg.submit()
    ui.until(lambda: "Not exported" in dlg.status.get(), timeout=30, what="the refusal")
    assert "does not verify" in dlg.status.get() and victim.name in dlg.status.get()
    assert dlg.result is None and "disabled" not in dlg.ok.state()
    assert not any(p.name.startswith("litellm-bridge-audit") for p in folder.iterdir())
    ui.shot(dlg, "audit-export-refused")
