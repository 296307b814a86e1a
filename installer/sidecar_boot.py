"""Entry of the frozen sidecar.

The ``sidecar`` package ships as source in ``_internal/app`` beside the frozen libraries, so a
change to it needs no new PyInstaller analysis of LiteLLM (minutes); everything it imports is
frozen (see ``imports.py``). The signed manifest covers these files like any other.
"""

import os
import sys

# The install folder is read-only for users; never leave bytecode files in it either (they
# would be unexpected files for the integrity check).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(getattr(sys, "_MEIPASS", os.path.dirname(__file__)), "app"))

# Modules the build leaves out (installer/sidecar.spec) get a placeholder first.
from sidecar.left_out import stand_in  # noqa: E402

stand_in()

from sidecar.entry import main  # noqa: E402

raise SystemExit(main())
