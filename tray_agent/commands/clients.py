"""``litellm-bridge clients list|env|setup|restore``: point coding tools at the bridge."""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import shlex
import subprocess
from collections.abc import Callable
from typing import Any

from tray_agent.clients import (
    KEY_ENV,
    URL_ENV,
    ClientsError,
    Target,
    all_clients,
    bridge_endpoint,
    get_client,
    key_command,
)
from tray_agent.clients.setup import apply_setup, is_configured, latest_backup, plan_setup, restore
from tray_agent.commands.context import CliContext, UserError
from tray_agent.platform import IS_WINDOWS
from tray_agent.policy.lock import require_unlocked

SHELLS = ("bash", "zsh", "fish", "powershell", "cmd")

Handler = Callable[[argparse.Namespace, CliContext], int]


def user_errors(handler: Handler) -> Handler:
    """Run ``handler`` with the clients package's refusals turned into ``UserError`` (same
    message and hint, exit code 1), which the CLI prints as ``error:``/``hint:``."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace, ctx: CliContext) -> int:
        try:
            return handler(args, ctx)
        except ClientsError as exc:
            raise UserError(str(exc), hint=exc.hint) from exc

    return run


def register(sub: Any) -> None:
    parser = sub.add_parser("clients", help="set up coding tools (Claude Code, Codex, ...)")
    csub = parser.add_subparsers(dest="clients_command", metavar="ACTION", required=True)

    p = csub.add_parser("list", help="supported tools: installed? configured?")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_list)

    p = csub.add_parser(
        "env", help="print shell exports for the bridge URL and key (fetched when evaluated)"
    )
    p.add_argument("--shell", choices=SHELLS, help="default: guessed from the environment")
    p.add_argument(
        "--reveal",
        action="store_true",
        help="write the key itself into the exports instead of a `litellm-bridge key` call",
    )
    p.set_defaults(func=cmd_env)

    p = csub.add_parser("setup", help="write the bridge settings into a tool's settings files")
    p.add_argument("name", metavar="NAME", nargs="?", help="a tool from `clients list`")
    p.add_argument(
        "--detected", action="store_true", help="every installed tool at once (instead of NAME)"
    )
    p.add_argument("--dry-run", action="store_true", help="show a diff, write nothing")
    p.add_argument("--model", help="also make this served model the tool's default")
    p.set_defaults(func=cmd_setup)

    p = csub.add_parser(
        "test", help="send one short request the way a tool does, then run the tool itself"
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--no-run", action="store_true", help="only the request, do not run the tool's program"
    )
    p.add_argument(
        "--timeout", type=float, default=60.0, help="seconds the tool's program may take"
    )
    p.set_defaults(func=cmd_test)

    p = csub.add_parser("restore", help="undo the last setup of a tool (from its backup)")
    p.add_argument("name", metavar="NAME")
    p.add_argument(
        "--force", action="store_true", help="restore even if the files changed since setup"
    )
    p.set_defaults(func=cmd_restore)


def make_target(ctx: CliContext, model: str | None = None) -> Target:
    if model is not None:
        _require_allowed(ctx, model)
    endpoint = bridge_endpoint(ctx)
    return Target(
        url=endpoint.url,
        key=endpoint.key,
        paths=ctx.paths,
        model=model,
        key_command=key_command(),
    )


def _require_allowed(ctx: CliContext, model: str) -> None:
    """A tool is never set up with a default model the organization's policy denies."""
    from tray_agent.policy.current import effective

    policy, view = effective(ctx.paths, ctx.secrets)
    if not policy.models.allows(model):
        source = ", ".join(view.get("source") or []) or "the organization policy"
        raise UserError(
            f"model {model!r} is not allowed by your organization's policy ({source})",
            hint="pick a model `litellm-bridge policy show` allows",
        )


@user_errors
def cmd_list(args: argparse.Namespace, ctx: CliContext) -> int:
    unknown: str | None = None
    try:
        target: Target | None = make_target(ctx)
    except ClientsError as exc:  # a fresh install: said under the table, not as a warning
        target, unknown = None, str(exc)
    rows: list[dict[str, Any]] = []
    for client in all_clients():
        configured = None if target is None else is_configured(client, target)
        rows.append(
            {
                "name": client.name,
                "title": client.title,
                "installed": client.installed(),
                "configured": configured,
                "backup": latest_backup(ctx.paths, client.name) is not None,
                "files": [str(f.path) for f in client.files(target)] if target else [],
            }
        )
    if args.json:
        ctx.print_json(rows)
        return 0
    yes_no = {True: "yes", False: "no", None: "?"}
    ctx.print(f"{'NAME':<14} {'TOOL':<14} {'INSTALLED':<10} {'CONFIGURED':<10}")
    for r in rows:
        ctx.print(
            f"{r['name']:<14} {r['title']:<14} {yes_no[r['installed']]:<10} "
            f"{yes_no[r['configured']]:<10}"
        )
    if unknown:
        ctx.print(f"\n? configured: not known yet: {unknown}")
    return 0


def default_shell() -> str:
    if IS_WINDOWS:
        return "powershell"
    shell = os.path.basename(os.environ.get("SHELL", ""))
    return shell if shell in ("bash", "zsh", "fish") else "bash"


def env_exports(url: str, key: str) -> dict[str, str]:
    """Every variable the supported tools read for the bridge URL and key."""
    base = url.rstrip("/")
    return {
        URL_ENV: base,
        KEY_ENV: key,
        "OPENAI_BASE_URL": f"{base}/v1",
        "OPENAI_API_BASE": f"{base}/v1",  # aider and older SDKs
        "OPENAI_API_KEY": key,
        "ANTHROPIC_BASE_URL": base,
        "ANTHROPIC_API_KEY": key,
        "GOOGLE_GEMINI_BASE_URL": base,
        "GEMINI_API_KEY": key,
    }


KEY_VARIABLES = (KEY_ENV, "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY")
"""The variables of ``env_exports`` that hold the key; the first is fetched, the others copy it."""


def _command_text(shell: str, argv: tuple[str, ...]) -> str:
    """``argv`` as ``shell`` would run it."""
    if shell in ("bash", "zsh"):
        return shlex.join(argv)
    if shell == "fish":
        return " ".join(a if shlex.quote(a) == a else _quote(shell, a) for a in argv)
    if shell == "powershell":
        return "& " + " ".join(_quote(shell, a) for a in argv)
    return subprocess.list2cmdline(list(argv))


def render_key_reference(shell: str, variables: dict[str, str], argv: tuple[str, ...]) -> str:
    """Like ``render_env`` but the key variables run ``argv`` (``litellm-bridge key``) when
    evaluated: the printed text never holds the key, only the command that prints it."""
    command = _command_text(shell, argv)
    first, *others = KEY_VARIABLES
    if shell in ("bash", "zsh"):
        fetch = f'export {first}="$({command})"'
        copy = [f'export {n}="${first}"' for n in others]
    elif shell == "fish":
        fetch = f"set -gx {first} ({command})"
        copy = [f"set -gx {n} ${first}" for n in others]
    elif shell == "powershell":
        fetch = f"$env:{first} = $({command})"
        copy = [f"$env:{n} = $env:{first}" for n in others]
    else:
        # Typed at the prompt; in a .bat file the variable is written %%K.
        fetch = f'for /f "usebackq delims=" %K in (`{command}`) do @set "{first}=%K"'
        copy = [f'set "{n}=%{first}%"' for n in others]
    plain = {k: v for k, v in variables.items() if k not in KEY_VARIABLES}
    return "\n".join([fetch, *copy]) + "\n" + render_env(shell, plain)


def _quote(shell: str, value: str) -> str:
    if shell in ("bash", "zsh"):
        return "'" + value.replace("'", "'\\''") + "'"
    if shell == "fish":
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if shell == "powershell":
        return "'" + value.replace("'", "''") + "'"
    return value


def render_env(shell: str, variables: dict[str, str]) -> str:
    """``variables`` as commands for ``shell``; NO_PROXY gains the loopback addresses so a
    corporate HTTP proxy never sees requests meant for the bridge."""
    lines = []
    for name, value in variables.items():
        q = _quote(shell, value)
        if shell in ("bash", "zsh"):
            lines.append(f"export {name}={q}")
        elif shell == "fish":
            lines.append(f"set -gx {name} {q}")
        elif shell == "powershell":
            lines.append(f"$env:{name} = {q}")
        else:
            lines.append(f'set "{name}={value}"')
    local = "127.0.0.1,localhost"
    if shell in ("bash", "zsh"):
        lines.append(f'export NO_PROXY="{local}${{NO_PROXY:+,$NO_PROXY}}"')
        lines.append(f'export no_proxy="{local}${{no_proxy:+,$no_proxy}}"')
    elif shell == "fish":
        lines.append(f'set -gx NO_PROXY "{local},$NO_PROXY"')
        lines.append(f'set -gx no_proxy "{local},$no_proxy"')
    elif shell == "powershell":
        lines.append(f'$env:NO_PROXY = "{local},$env:NO_PROXY"')
    else:
        lines.append(f'set "NO_PROXY={local},%NO_PROXY%"')
    return "\n".join(lines) + "\n"


@user_errors
def cmd_env(args: argparse.Namespace, ctx: CliContext) -> int:
    endpoint = bridge_endpoint(ctx)
    shell = args.shell or default_shell()
    variables = env_exports(endpoint.url, endpoint.key)
    if getattr(args, "reveal", False):
        # Asked for explicitly: the key itself, like `litellm-bridge key`.
        ctx.out.write(render_env(shell, variables))
    else:
        # `litellm-bridge key` stays the one command that prints the key.
        ctx.out.write(render_key_reference(shell, variables, key_command()))
    return 0


@user_errors
def cmd_setup(args: argparse.Namespace, ctx: CliContext) -> int:
    require_unlocked("clients", ctx.paths)
    detected = getattr(args, "detected", False)
    if detected == bool(args.name):
        raise UserError(
            "name one tool or use --detected",
            hint="`litellm-bridge clients setup claude-code`, or every installed tool: "
            "`litellm-bridge clients setup --detected`",
        )
    if not detected:
        return _setup_one(args, ctx, get_client(args.name), make_target(ctx, args.model))
    clients = [c for c in all_clients() if c.installed()]
    if not clients:
        ctx.print("no supported tool is installed (`litellm-bridge clients list`)")
        return 0
    target = make_target(ctx, args.model)
    for i, client in enumerate(clients):
        if i:
            ctx.print("")
        ctx.print(f"== {client.title}")
        _setup_one(args, ctx, client, target)
    return 0


def _setup_one(args: argparse.Namespace, ctx: CliContext, client: Any, target: Target) -> int:
    plan = plan_setup(client, target)
    if not plan.changed:
        ctx.print(f"{client.title} is already set up for {plan.target.url}; nothing to change")
        _print_try(ctx, client, plan.target)
        return 0
    if args.dry_run:
        ctx.out.write(plan.diff())
        ctx.print(f"(dry run: nothing written for {client.title})")
        return 0
    backup = apply_setup(plan)
    for change in plan.changes:
        if change.changed:
            verb = "updated" if change.before is not None else "created"
            ctx.print(f"{verb} {change.spec.path}")
    ctx.print(f"backup: {backup} (undo: litellm-bridge clients restore {client.name})")
    for note in client.notes(plan.target):
        ctx.print(f"note: {note}")
    _print_try(ctx, client, plan.target)
    return 0


def _print_try(ctx: CliContext, client: Any, target: Target) -> None:
    """The one command that shows the tool reaching the bridge, and its first-run traps."""
    from tray_agent.clients.hints import first_run_notes, try_command
    from tray_agent.clients.snippets import SnippetSetup

    env_file = client.files(target)[0].path if isinstance(client, SnippetSetup) else None
    for note in first_run_notes(client.name):
        ctx.print(f"note: {note}")
    ctx.print(f"try: {try_command(client.name, target.model, target.url, env_file)}")


@user_errors
def cmd_test(args: argparse.Namespace, ctx: CliContext) -> int:
    from tray_agent.clients.tooltest import check_tool

    client = get_client(args.name)
    fallback: str | None = None
    with contextlib.suppress(ClientsError):
        fallback = bridge_endpoint(ctx).key
    result = check_tool(
        client,
        ctx.paths,
        run_binary=not args.no_run,
        binary_timeout=args.timeout,
        fallback_key=fallback,
    )
    if args.json:
        ctx.print_json(result.as_dict())
        return 0 if result.ok else 1
    if result.answer:
        ctx.print(
            f"{result.route} request to {result.url} (model {result.model}): "
            f"{result.answer!r} in {result.seconds:.1f} s"
        )
    if result.binary is not None:
        b = result.binary
        ctx.print(f"{' '.join(b.argv[:2])}: {b.answer!r} in {b.seconds:.1f} s")
    ctx.print(result.line())
    return 0 if result.ok else 1


@user_errors
def cmd_restore(args: argparse.Namespace, ctx: CliContext) -> int:
    require_unlocked("clients", ctx.paths)
    client = get_client(args.name)
    for line in restore(ctx.paths, client, force=args.force):
        ctx.print(line)
    return 0
