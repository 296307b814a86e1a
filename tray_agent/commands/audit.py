"""``litellm-bridge audit verify|export|hash``: check the tamper-evident audit log, export
it for a SIEM, search it.

``verify [PATH] [--key FILE] [--json]`` checks the log directory (default), one file or an
export: exit 0 with counts, 1 naming the first bad line. ``export [--since T] [--until T]
--format jsonl|ocsf|cef -o FILE`` writes a signed, verifiable export (``audit/export.py``)
of a log that verifies. ``hash VALUE`` prints the form an identifier takes in the log when
the policy hashes identifiers (``audit.hash_identifiers``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tray_agent.commands.context import CliContext, UserError


def register(sub: Any) -> None:
    p = sub.add_parser("audit", help="verify and search the tamper-evident audit log")
    asub = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = asub.add_parser("verify", help="check the log's chain and signed checkpoints")
    verify.add_argument(
        "path", nargs="?", help="a log directory, file or export (default: the log)"
    )
    verify.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="FILE",
        help="trust only this public key (.pub, repeatable), not the keys beside the log",
    )
    verify.add_argument("--json", action="store_true", help="machine-readable output")
    verify.set_defaults(func=cmd_verify)
    export = asub.add_parser(
        "export", help="write the log (or a time range) for a SIEM: JSON Lines, OCSF or CEF"
    )
    export.add_argument("--since", metavar="T", help="from this time (ISO 8601 or a date)")
    export.add_argument("--until", metavar="T", help="before this time (a date: through it)")
    export.add_argument("--format", required=True, choices=("jsonl", "ocsf", "cef"))
    export.add_argument("-o", "--output", required=True, metavar="FILE", help="the export file")
    export.set_defaults(func=cmd_export)
    hashed = asub.add_parser("hash", help="the form VALUE takes in a log with hashed identifiers")
    hashed.add_argument("value", help="an employee ID or project as you know it")
    hashed.set_defaults(func=cmd_hash)


def cmd_verify(args: argparse.Namespace, ctx: CliContext) -> int:
    from tray_agent.audit.action import note
    from tray_agent.audit.keys import trusted_keys
    from tray_agent.audit.verify import verify_path

    target = Path(args.path).expanduser() if args.path else ctx.paths.audit_dir
    if not args.path and not target.exists():
        if args.json:
            ctx.print_json({"ok": True, "files": [], "events": 0, "checkpoints": 0})
        else:
            ctx.print(f"no audit log yet in {target}: the agent starts it when it first runs")
        return 0
    if not target.exists():
        raise UserError(
            f"{target} does not exist",
            hint="the log is in the data folder (litellm-bridge paths --json: audit)",
        )
    given = [Path(k).expanduser() for k in args.key]
    beside = target if target.is_dir() else target.parent
    keys = trusted_keys(None if given else beside, given)
    if not given and beside != ctx.paths.audit_dir:
        keys.update(trusted_keys(ctx.paths.audit_dir))
    report = verify_path(target, keys)
    if not given:
        _installation_checks(ctx, target, report)
    if not report.ok:
        note("audit.verify_failed", path=str(target), problem=str(report.problem))
    if args.json:
        ctx.print_json(report.as_dict())
        return 0 if report.ok else 1
    if report.ok:
        ctx.print(
            f"audit log OK: {report.events} events, {report.checkpoints} checkpoints, "
            f"seq {report.first_seq or 0}..{report.last_seq or 0} in {len(report.files)} file(s)"
        )
    else:
        ctx.warn(f"audit log NOT OK: {report.problem}")
        ctx.warn(f"checked before it: {report.events} events, {report.checkpoints} checkpoints")
    for warning in report.warnings:
        ctx.warn(f"warning: {warning}")
    return 0 if report.ok else 1


def cmd_export(args: argparse.Namespace, ctx: CliContext) -> int:
    from tray_agent.audit.action import note
    from tray_agent.audit.export import ExportRefused, export_log, parse_when
    from tray_agent.audit.keys import installation_keys, load_signer, sealed_head

    try:
        since = parse_when(args.since) if args.since else None
        until = parse_when(args.until, end=True) if args.until else None
    except ValueError as exc:
        raise UserError(str(exc), code=2) from None
    audit_dir = ctx.paths.audit_dir
    target = Path(args.output).expanduser().absolute()
    if target.is_dir():
        raise UserError(f"{target} is a folder", hint="give a file name: -o audit.jsonl")
    signer = load_signer(ctx.secrets, audit_dir, create=False)
    if signer is None:
        raise UserError(
            f"no audit signing key in {ctx.secrets.description}: an export cannot be signed",
            hint="the agent makes the key when it first starts (litellm-bridge start)",
        )
    try:
        done = export_log(audit_dir, target, args.format, signer,
                          installation_keys(ctx.secrets, audit_dir), since=since, until=until,
                          sealed=sealed_head(ctx.secrets))  # fmt: skip
    except ExportRefused as exc:
        raise UserError(str(exc), hint=f"nothing was written to {target}") from None
    except OSError as exc:
        raise UserError(f"cannot write {target}: {exc.strerror or exc}") from None
    note("audit.exported", format=args.format, path=str(target), events=done.events,
         first_seq=done.first_seq, last_seq=done.last_seq)  # fmt: skip
    ctx.print(
        f"exported {done.events} events and {done.checkpoints} checkpoints "
        f"(seq {done.first_seq}..{done.last_seq}) as {args.format} to {target}"
    )
    for warning in done.warnings:
        ctx.warn(f"warning: {warning} (stated in the export's header)")
    return 0


def _installation_checks(ctx: CliContext, target: Path, report: Any) -> None:
    """What only this installation's keyring can tell: keys it never made (anyone can drop
    a .pub beside the log), and a log cut back or rewritten below its last checkpoint."""
    from tray_agent.audit.keys import known_key_ids, sealed_head
    from tray_agent.audit.log import chain_problem
    from tray_agent.audit.verify import Problem

    try:
        known, sealed = known_key_ids(ctx.secrets), sealed_head(ctx.secrets)
    except Exception:
        return  # no keyring here: the files are all there is to check against
    strangers = [k for k in report.keys if known and k not in known]
    if strangers:
        report.warnings.append(
            f"checkpoints signed by key(s) {', '.join(strangers)} that this installation did "
            "not make: verify with --key and the key your security team pinned"
        )
    if report.ok and sealed is not None and target == ctx.paths.audit_dir:
        broken = chain_problem(target, *sealed)
        if broken is not None:
            report.problem = Problem("missing", str(target), 0, sealed[0], broken)


def cmd_hash(args: argparse.Namespace, ctx: CliContext) -> int:
    from tray_agent.audit.records import SALT_NAME, Identifiers

    if not ctx.secrets.get(SALT_NAME):
        raise UserError(
            "this installation has no identifier salt yet: nothing was logged with hashed "
            "identifiers",
            hint="hashes appear once the policy sets audit.hash_identifiers and requests ran",
        )
    ids = Identifiers(ctx.secrets)
    ctx.print(ids.digest(args.value))
    return 0
