"""Entry of the frozen agent.

Like the sidecar, the ``tray_agent`` package ships as source in ``_internal/app`` beside the
frozen libraries (so changing it does not need a new PyInstaller analysis); what it imports is
frozen. The public-key module is frozen into the archive, where it cannot be swapped by
editing a file.
"""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(getattr(sys, "_MEIPASS", os.path.dirname(__file__)), "app"))

from tray_agent.cli import main  # noqa: E402

raise SystemExit(main())
