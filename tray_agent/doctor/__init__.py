"""``litellm-bridge doctor``: check each failure point and say how to fix it.

Works with and without a running agent: when one runs, its status (sidecar, token,
keyring) and its proxy are used; otherwise the files, the keyring and the network are
checked directly.
"""

from tray_agent.doctor.context import CheckResult, DoctorContext
from tray_agent.doctor.report import Report, format_report, run_doctor

__all__ = ["CheckResult", "DoctorContext", "Report", "format_report", "run_doctor"]
