"""The doctor's checks in the order they run and are reported: each failure point on its own.

Each check is a function of the :class:`~tray_agent.doctor.context.DoctorContext` returning
pass, warn, fail or skip with a fix; they live in modules named after what they look at.
"""

from __future__ import annotations

from collections.abc import Callable

from tray_agent.doctor.audit_check import check_audit
from tray_agent.doctor.config_checks import check_config, check_keyring
from tray_agent.doctor.context import CheckResult, DoctorContext
from tray_agent.doctor.environment_checks import check_disk, check_proxy_env
from tray_agent.doctor.iam_checks import check_clock, check_iam
from tray_agent.doctor.policy_check import check_policy
from tray_agent.doctor.port_check import check_port
from tray_agent.doctor.sidecar_check import check_sidecar
from tray_agent.doctor.token_check import check_token
from tray_agent.doctor.upstream_check import check_upstream

Check = Callable[[DoctorContext], CheckResult]

CHECKS: list[Check] = [
    check_config,
    check_policy,
    check_audit,
    check_keyring,
    check_port,
    check_sidecar,
    check_iam,
    check_clock,
    check_token,
    check_upstream,
    check_proxy_env,
    check_disk,
]
