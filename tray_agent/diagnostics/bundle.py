"""Build the diagnostics zip: versions, paths, status, doctor, configs, env names, errors,
metrics and the end of each log, every text redacted; written atomically."""

from __future__ import annotations

import contextlib
import io
import os
import platform
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import yaml

from tray_agent import __version__, strictjson
from tray_agent.config import yamlload
from tray_agent.config.schema import ConfigFile
from tray_agent.config.validate import MAX_CONFIG_BYTES
from tray_agent.config.yamlload import dump_plain
from tray_agent.envref import ref_name
from tray_agent.fsutil import atomic_write, read_bytes_capped
from tray_agent.logs.errors import ERRORS_FILE, read_saved
from tray_agent.logs.reader import log_files, tail_text
from tray_agent.logs.redact import MASK, REDACTOR
from tray_agent.logs.secrets import register_known_secrets
from tray_agent.paths import Paths
from tray_agent.secrets import SecretStore

LOG_TAIL_BYTES = 1024 * 1024
CONFIG_KEYS = frozenset(ConfigFile.model_fields)
NAME_FORMAT = "litellm-bridge-diagnostics-%Y%m%d-%H%M%S.zip"
SECRET_KEYS = (
    "key",
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "credential",
    "cookie",
)


def default_name(now: float | None = None) -> str:
    return time.strftime(NAME_FORMAT, time.localtime(now))


def litellm_version() -> str:
    """LiteLLM's version from package metadata (never by importing it)."""
    from importlib import metadata

    with contextlib.suppress(metadata.PackageNotFoundError):
        return metadata.version("litellm")
    if getattr(sys, "frozen", False):
        here = Path(sys.executable).resolve().parent
        for root in (here, here.parent / "sidecar", here / "sidecar"):
            for dist in sorted(root.glob("**/litellm-*.dist-info"))[:1]:
                return dist.name.removeprefix("litellm-").removesuffix(".dist-info")
    lock = Path(__file__).resolve().parents[2] / "sidecar" / "requirements.lock"
    with contextlib.suppress(OSError):
        for line in lock.read_text(encoding="utf-8").splitlines():
            if line.startswith("litellm=="):
                return line.split("==", 1)[1].split()[0].rstrip("\\").strip() + " (locked)"
    return "unknown"


def versions() -> dict[str, str]:
    return {
        "litellm_bridge": __version__,
        "litellm": litellm_version(),
        "python": platform.python_version(),
        "os": platform.platform(),
        "machine": platform.machine(),
    }


def _secret_key(key: object) -> bool:
    k = str(key).lower().replace("-", "_")
    return any(word in k for word in SECRET_KEYS) and not k.endswith(("_path", "_file", "_env"))


def redact_data(value: Any) -> Any:
    """A copy with the values of secret-looking keys masked (``os.environ/`` refs kept)."""
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for k, v in value.items():
            keep_ref = ref_name(v) is not None
            if _secret_key(k) and isinstance(v, str | int | float) and not keep_ref:
                out[k] = MASK
            else:
                out[k] = redact_data(v)
        return out
    if isinstance(value, list):
        return [redact_data(v) for v in value]
    return value


def redacted_yaml(path: Path) -> str:
    """The YAML mapping in ``path`` with secret-looking values masked, else a note saying why not.

    A file that is not a YAML mapping may be anything (a symlink to a password file, a key):
    only its size goes into the bundle, never its text.
    """
    try:
        raw = read_bytes_capped(path, MAX_CONFIG_BYTES, path.name)
    except OSError as exc:
        return f"# {path.name} not included: {exc.strerror or exc}\n"
    try:
        data = yamlload.load(raw.decode("utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError, ValueError, TypeError, RecursionError):
        return f"# {path.name} not included: not valid YAML ({len(raw)} bytes)\n"
    if not isinstance(data, dict):
        return f"# {path.name} not included: not a YAML mapping ({len(raw)} bytes)\n"
    if not set(map(str, data)) & CONFIG_KEYS:
        # A password file parses as a mapping of its lines: its keys are the secrets.
        return f"# {path.name} not included: no LiteLLM config key in it ({len(raw)} bytes)\n"
    header = f"# {path.name}, values of secret-looking keys masked; comments dropped\n"
    return header + dump_plain(redact_data(data), sort_keys=False, allow_unicode=True)


def env_entries(paths: Paths, secrets: SecretStore | None) -> list[dict[str, Any]]:
    """Names and flags; every value masked (a secret says whether the keyring holds it)."""
    from tray_agent.envstore import EnvStore, EnvStoreError, secret_key

    try:
        entries = EnvStore(paths.env_file, secrets).entries()
    except EnvStoreError as exc:
        return [{"error": str(exc)}]
    out = []
    for e in entries:
        item: dict[str, Any] = {"name": e.name, "secret": e.secret, "enabled": e.enabled}
        if e.secret:
            present = None
            if secrets is not None:
                with contextlib.suppress(Exception):
                    present = secrets.get(secret_key(e.name)) is not None
            item["value"] = {True: MASK, False: "(missing from the keyring)", None: "?"}[present]
        else:
            item["value"] = MASK if e.value else "(empty)"
        out.append(item)
    return out


def _agent(paths: Paths) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    from tray_agent.control.client import ControlClient
    from tray_agent.control.protocol import ControlError

    client = ControlClient.connect(paths)
    if client is None:
        return None, None
    status = metrics = None
    try:
        with client:
            status = client.call("status", timeout=15)
            with contextlib.suppress(ControlError):
                metrics = client.call("metrics", timeout=15)
            with contextlib.suppress(ControlError, KeyError, TypeError):
                REDACTOR.add(client.call("key", timeout=15)["key"])
    except (ControlError, OSError, EOFError):
        pass
    return status, metrics


def _doctor(paths: Paths) -> tuple[str, dict[str, Any]]:
    from tray_agent.doctor import format_report, run_doctor

    try:
        report = run_doctor(paths)
    except Exception as exc:
        return f"doctor failed: {exc!r}\n", {"error": repr(exc)}
    return format_report(report) + "\n", report.as_dict()


def _target(out: Path | str | None, paths: Paths, now: float) -> Path:
    if out is None:
        return paths.data_dir / "diagnostics" / default_name(now)
    as_dir = isinstance(out, str) and out.endswith(("/", os.sep))
    path = Path(out).expanduser()
    if as_dir or path.is_dir():
        return path / default_name(now)
    return path


def _audit_files(paths: Paths) -> dict[str, str]:
    """The audit log's public keys and its verify result (IT pins the keys: a log re-signed
    later with another key then shows), never the log's lines."""
    from tray_agent.audit.keys import KEYS_DIR, trusted_keys
    from tray_agent.audit.verify import verify_path

    files: dict[str, str] = {}
    keys_dir = paths.audit_dir / KEYS_DIR
    with contextlib.suppress(OSError):
        for key in sorted(keys_dir.glob("*.pub")):
            files[f"audit/keys/{key.name}"] = key.read_text(encoding="ascii", errors="replace")
    if paths.audit_dir.is_dir():
        try:
            report = verify_path(paths.audit_dir, trusted_keys(paths.audit_dir)).as_dict()
        except OSError as exc:
            report = {"ok": False, "problem": str(exc)}
        files["audit/verify.json"] = strictjson.dumps(report, indent=2)
    return files


def build_zip(
    paths: Paths, *, secrets: SecretStore | None = None, include_doctor: bool = True
) -> bytes:
    """The zip's bytes (nothing written)."""
    if secrets is None:
        from tray_agent.secrets import open_secret_store

        with contextlib.suppress(Exception):
            secrets = open_secret_store(paths.keyring_namespace)
    register_known_secrets(paths, secrets)
    status, metrics = _agent(paths)
    errors = (status or {}).get("errors")
    if errors is None:
        errors = read_saved(paths.data_dir / ERRORS_FILE)
    about = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": versions(),
        "paths": paths.as_dict(),
        "agent_running": status is not None,
    }
    files: dict[str, str] = {
        "about.json": strictjson.dumps(about, indent=2),
        "status.json": strictjson.dumps(status or {"agent": None}, indent=2),
        "errors.json": strictjson.dumps(errors, indent=2),
        "metrics.json": strictjson.dumps(metrics, indent=2),
        "env.json": strictjson.dumps(env_entries(paths, secrets), indent=2),
    }
    files.update(_audit_files(paths))
    if include_doctor:
        text, data = _doctor(paths)
        files["doctor.txt"] = text
        files["doctor.json"] = strictjson.dumps(data, indent=2)
    for name, path in (
        ("config/config.yaml", paths.config_file),
        ("config/effective-config.yaml", paths.effective_config),
    ):
        if os.path.lexists(path):
            files[name] = redacted_yaml(path)
    for base in (paths.agent_log, paths.sidecar_log):
        chunks = log_files(base)
        budget, parts = LOG_TAIL_BYTES, list[str]()
        for path in reversed(chunks):  # newest first until the budget is spent
            if budget <= 0:
                break
            text = tail_text(path, budget)
            budget -= len(text.encode())
            parts.insert(0, text)
        if parts:
            files[f"logs/{base.name}"] = "".join(parts)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, REDACTOR.redact(text))
    return buf.getvalue()


def export_diagnostics(paths: Paths, out: Path | str | None = None) -> Path:
    """Write the diagnostics zip (atomically) and return where it went.

    ``out`` may be a file name, a directory (an existing one, or a string ending with a
    separator: a timestamped name is used inside) or None
    (the data directory's ``diagnostics`` folder).
    """
    now = time.time()
    target = _target(out, paths, now)
    data = build_zip(paths)
    atomic_write(target, data)  # 0600: the zip holds config and log excerpts
    from tray_agent.audit.action import note

    note("diagnostics.exported", path=str(target.resolve()), bytes=len(data))
    return target.resolve()
