"""The contract every client setup must keep; each implementation's test module runs it.

Subclass ``ClientSetupContract`` and set ``client_factory``. The fixtures give a temporary
HOME (and CODEX_HOME, CLAUDE_CONFIG_DIR, GEMINI_CLI_HOME unset or pointed inside it) and a
relocated bridge home, so nothing outside ``tmp_path`` is read or written.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tray_agent.clients import ClientsError
from tray_agent.clients.base import ClientSetup, FileSpec, Target
from tray_agent.clients.formats import FORMATS, MISSING, REMOVE, KeyPath
from tray_agent.clients.loop import SelfLoopError
from tray_agent.clients.setup import apply_setup, is_configured, plan_setup, restore
from tray_agent.paths import get_paths

KEY = "sk-bridge-test-key-0123456789"
BRIDGE_URL = "http://127.0.0.1:4747"
FOREIGN_MARK = "keep-me"


def tree_hash(root: Path) -> str:
    """One hash over every path, mode and content below ``root``."""
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        h.update(str(p.relative_to(root)).encode())
        h.update(str(p.stat().st_mode).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def foreign_text(spec: FileSpec) -> str:
    """A user's existing file: foreign keys at the top level and beside every owned key,
    comments where the format has them, and some owned keys already set to other values."""
    parents = sorted({path[:-1] for path in spec.values if len(path) > 1})
    if spec.format == "json":
        doc: dict[str, Any] = {"zFirst": FOREIGN_MARK, "theme": "dark"}
        for parent in parents:
            node = doc
            for key in parent:
                node = node.setdefault(key, {})
            node["userOwn"] = FOREIGN_MARK
        doc["aLast"] = [1, 2, {"nested": FOREIGN_MARK}]
        return json.dumps(doc, indent=4) + "\n"
    if spec.format == "toml":
        lines = [
            "# my codex settings: keep-me",
            'zfirst = "keep-me"  # inline comment keep-me',
            "approval_policy = 'never'",
            "",
        ]
        for parent in parents:
            if parent == ("model_providers",):
                lines += [
                    "[model_providers.mine]  # keep-me",
                    'base_url = "https://x.example/v1"',
                    "",
                ]
            else:
                lines += [f"[{'.'.join(parent)}]", "# comment keep-me", 'userown = "keep-me"', ""]
        lines += ["[profiles.work]", 'model = "o3"  # keep-me', ""]
        return "\n".join(lines)
    if spec.format == "yaml":
        return (
            "# aider settings keep-me\n"
            "zfirst: keep-me   # inline keep-me\n"
            "dark-mode: true\n"
            "read:\n  - CONVENTIONS.md  # keep-me\n"
        )
    if spec.format == "dotenv":
        return "# my env keep-me\nZFIRST=keep-me\nexport OTHER='keep me too'\n\nLAST=1"
    raise AssertionError(spec.format)


def foreign_values(spec: FileSpec, text: str) -> dict[KeyPath, Any]:
    """Every leaf of the foreign file that setup must keep."""
    fmt = FORMATS[spec.format]()
    doc = fmt.load(text, "test")
    leaves: dict[KeyPath, Any] = {}

    def walk(node: Any, prefix: KeyPath) -> None:
        if hasattr(node, "keys"):
            for k in node:
                walk(node[k], (*prefix, str(k)))
        else:
            leaves[prefix] = fmt.get(doc, prefix)

    if spec.format == "dotenv":
        for name in ("ZFIRST", "OTHER", "LAST"):
            leaves[(name,)] = fmt.get(doc, (name,))
    else:
        walk(doc, ())
    return {p: v for p, v in leaves.items() if p not in spec.values}


class ClientSetupContract:
    client_factory: ClassVar[Callable[[], ClientSetup]]
    model: ClassVar[str | None] = None

    @pytest.fixture
    def user_home(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
        h = tmp_path / "user"
        h.mkdir()
        monkeypatch.setenv("HOME", str(h))
        monkeypatch.setenv("USERPROFILE", str(h))
        monkeypatch.setenv("LITELLM_BRIDGE_HOME", str(tmp_path / "user" / "bridge"))
        for var in ("CODEX_HOME", "CLAUDE_CONFIG_DIR", "GEMINI_CLI_HOME"):
            monkeypatch.delenv(var, raising=False)
        for var in ("OPENAI_BASE_URL", "OPENAI_API_BASE", "ANTHROPIC_BASE_URL"):
            monkeypatch.delenv(var, raising=False)
        get_paths().ensure()  # the bridge's own directories always exist
        yield h

    @pytest.fixture
    def client(self) -> ClientSetup:
        return type(self).client_factory()

    @pytest.fixture
    def target(self, user_home: Path) -> Target:
        return Target(
            url=BRIDGE_URL,
            key=KEY,
            paths=get_paths(),
            model=self.model,
            key_command=("litellm-bridge", "key"),
        )

    def write_foreign(self, client: ClientSetup, target: Target) -> dict[Path, bytes]:
        originals = {}
        for spec in client.files(target):
            spec.path.parent.mkdir(parents=True, exist_ok=True)
            spec.path.write_text(foreign_text(spec))
            spec.path.chmod(0o644)
            originals[spec.path] = spec.path.read_bytes()
        return originals

    # -- the contract ---------------------------------------------------------------------

    def test_client_declares_files_inside_home_or_bridge_dirs(
        self, client: ClientSetup, target: Target, user_home: Path
    ) -> None:
        specs = client.files(target)
        assert specs, "a client owns at least one file"
        for spec in specs:
            assert spec.path.is_relative_to(user_home), spec.path
            assert spec.values, spec.path

    def test_setup_keeps_foreign_keys_and_comments(
        self, client: ClientSetup, target: Target
    ) -> None:
        originals = self.write_foreign(client, target)
        apply_setup(plan_setup(client, target, environ={}))
        for spec in client.files(target):
            before = originals[spec.path].decode()
            after = spec.path.read_text()
            fmt = FORMATS[spec.format]()
            doc = fmt.load(after, str(spec.path))
            for path, value in foreign_values(spec, before).items():
                assert fmt.get(doc, path) == value, (path, after)
            if spec.format in ("toml", "yaml", "dotenv"):
                # Comments and layout too: every line the user wrote is still there as is.
                after_lines = after.splitlines()
                for line in before.splitlines():
                    assert line in after_lines, (line, after)
            for path, value in spec.values.items():
                got = fmt.get(doc, path)
                assert got is MISSING if value is REMOVE else got == value, (path, after)
        assert is_configured(client, target)

    def test_setup_keeps_foreign_key_order_in_json(
        self, client: ClientSetup, target: Target
    ) -> None:
        self.write_foreign(client, target)
        apply_setup(plan_setup(client, target, environ={}))
        for spec in client.files(target):
            if spec.format == "json":
                keys = list(json.loads(spec.path.read_text()))
                assert keys[0] == "zFirst" and keys.index("theme") < keys.index("aLast")

    def test_restore_gives_back_the_original_byte_for_byte(
        self, client: ClientSetup, target: Target
    ) -> None:
        originals = self.write_foreign(client, target)
        apply_setup(plan_setup(client, target, environ={}))
        assert any(p.read_bytes() != b for p, b in originals.items())
        restore(target.paths, client)
        for path, data in originals.items():
            assert path.read_bytes() == data
            assert path.stat().st_mode & 0o777 == 0o644

    def test_dry_run_writes_nothing(
        self, client: ClientSetup, target: Target, user_home: Path
    ) -> None:
        self.write_foreign(client, target)
        before = tree_hash(user_home)
        plan = plan_setup(client, target, environ={})
        diff = plan.diff()
        assert diff.startswith("--- ") and "+++ " in diff
        assert KEY not in diff
        assert tree_hash(user_home) == before

    def test_setup_creates_missing_files_and_restore_removes_them(
        self, client: ClientSetup, target: Target, user_home: Path
    ) -> None:
        before = tree_hash(user_home)
        specs = client.files(target)
        assert not any(s.path.exists() for s in specs)
        apply_setup(plan_setup(client, target, environ={}))
        for spec in specs:
            assert spec.path.exists()
            if spec.secret:
                assert spec.path.stat().st_mode & 0o077 == 0
        assert is_configured(client, target)
        restore(target.paths, client)
        assert not any(s.path.exists() for s in specs)
        backups = target.paths.data_dir / "client-backups"
        shutil.rmtree(backups)  # the bridge's own bookkeeping; everything else is as before
        assert tree_hash(user_home) == before

    def test_second_setup_changes_nothing(self, client: ClientSetup, target: Target) -> None:
        apply_setup(plan_setup(client, target, environ={}))
        again = plan_setup(client, target, environ={})
        assert not again.changed
        assert apply_setup(again) is None

    def test_restore_refuses_when_edited_since_setup_unless_forced(
        self, client: ClientSetup, target: Target
    ) -> None:
        originals = self.write_foreign(client, target)
        apply_setup(plan_setup(client, target, environ={}))
        edited = client.files(target)[0].path
        edited.write_bytes(edited.read_bytes() + b"\n")
        with pytest.raises(ClientsError, match="changed since setup"):
            restore(target.paths, client)
        restore(target.paths, client, force=True)
        for path, data in originals.items():
            assert path.read_bytes() == data

    def test_restore_without_setup_is_a_user_error(
        self, client: ClientSetup, target: Target
    ) -> None:
        with pytest.raises(ClientsError, match="nothing to restore"):
            restore(target.paths, client)

    def test_setup_refused_when_a_model_upstream_is_the_bridge(
        self, client: ClientSetup, target: Target, user_home: Path
    ) -> None:
        config = target.paths.config_file
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(
            "model_list:\n"
            "  - model_name: internal\n"
            "    litellm_params:\n"
            "      model: hosted_vllm/internal\n"
            "      api_base: http://localhost:4747/v1\n"
        )
        before = tree_hash(user_home)
        with pytest.raises(SelfLoopError, match=r"config.yaml:2: model 'internal'"):
            plan_setup(client, target, environ={})
        assert tree_hash(user_home) == before

    def test_setup_refused_when_inherited_base_url_points_at_the_bridge(
        self, client: ClientSetup, target: Target
    ) -> None:
        config = target.paths.config_file
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(
            "model_list:\n  - model_name: gpt\n    litellm_params:\n      model: openai/gpt\n"
        )
        with pytest.raises(SelfLoopError, match="OPENAI_BASE_URL"):
            plan_setup(client, target, environ={"OPENAI_BASE_URL": "http://[::1]:4747/v1"})
        # Another port is another server: no loop.
        plan_setup(client, target, environ={"OPENAI_BASE_URL": "http://127.0.0.1:9999/v1"})
