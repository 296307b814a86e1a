"""CLI command groups, one module each, discovered automatically.

A module here defines ``register(sub)`` taking the top-level ``argparse`` subparsers object.
Each parser it adds sets ``func=handler`` with ``handler(args, ctx: CliContext) -> int``
(the process exit code). See ``tray_agent/commands/context.py``.
"""
