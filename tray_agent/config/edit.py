"""``litellm-bridge config edit``: open a file in the user's editor without waiting for it.

The opener is the tray's (``tray_agent.platform.desktop.edit_file``): Windows' "edit" (else
"open") association, else Notepad; macOS ``open -t``; elsewhere ``$VISUAL``/``$EDITOR``
(in a terminal emulator for a terminal editor) or ``xdg-open``. Every child is detached and
reaped.
"""

from __future__ import annotations

import os
from pathlib import Path

from tray_agent.platform import desktop


class EditorError(Exception):
    """No way to open the file was found; the message names the file to open by hand."""


def open_in_editor(path: Path | str, environ: dict[str, str] | None = None) -> str:
    """Open ``path`` in the default editor, detached; return how it was opened."""
    target = Path(path)
    if not target.exists():
        raise EditorError(f"{target} does not exist")
    env = dict(os.environ if environ is None else environ)
    try:
        return desktop.edit_file(target, env)
    except desktop.OpenerMissing as exc:
        raise EditorError(str(exc)) from exc
    except OSError as exc:
        raise EditorError(f"could not start an editor ({exc}); open {target} yourself") from exc
