"""Run a command as root without the capabilities that bypass file permissions."""

from __future__ import annotations

import subprocess

from tests.agentproc import ROOT


def as_nobody(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` as root without the capabilities that bypass file permissions.

    Still root, so it reads a checkout that only root may read (a clone in a 0700 temp
    dir), but a directory's mode bits now apply to it as to any user.
    """
    caps = "-dac_override,-dac_read_search,-fowner"
    drop = ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}"]
    return subprocess.run(
        drop + argv, env=env, capture_output=True, text=True, timeout=60, cwd=ROOT, check=False
    )
