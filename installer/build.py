"""Build the frozen apps, the signed app folder and the Linux package.

    python -m installer.build package      # everything below, into dist/
    python -m installer.build bundle       # frozen sidecar + agent, assembled and signed
    python -m installer.build check        # only the environment checks

PyInstaller output is reused while a fingerprint of its inputs (sources, spec, installed
distributions, Python and PyInstaller versions) is unchanged: a LiteLLM build takes minutes.
The environment checks run every time.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

from installer import keys, preflight, slim
from installer.imports import importable_here, imported_modules
from installer.sign import sign_bundle
from installer.update_keys import UpdateKeyError

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("LITELLM_BRIDGE_BUILD_DIR", ROOT / "build" / "package"))
# PyInstaller output, reused across checkouts of the same machine (keyed by fingerprint).
CACHE = Path(
    os.environ.get("LITELLM_BRIDGE_BUILD_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "litellm-bridge-build"
)
KEEP_CACHED = 2
DIST = Path(os.environ.get("LITELLM_BRIDGE_DIST_DIR", ROOT / "dist"))
APP_NAME = "litellm-bridge"
SIDECAR_DIR = "sidecar"
CODESIGN_ENV = "LITELLM_BRIDGE_CODESIGN_CMD"
# What each frozen program is made from (besides the installed distributions).
SIDECAR_INPUTS = (
    "sidecar/requirements.lock",
    "installer/sidecar.spec",
    "installer/sidecar_boot.py",
    "installer/preflight.py",
    "installer/assets/admin-ui/**/*",
)
# Sidecar modules the agent imports (doctor applies the sidecar's injection rules): shipped
# as source beside ``tray_agent``; stdlib-only at import, so nothing more is frozen for them.
AGENT_SIDECAR_SOURCES = ("sidecar/__init__.py", "sidecar/inject.py")
AGENT_INPUTS = (
    "config_templates/*",
    "icons/*",
    "installer/agent.spec",
    "installer/agent_boot.py",
    "installer/preflight.py",
)


class BuildError(Exception):
    """The build produced something unusable."""


def _files(patterns: Iterable[str]) -> list[Path]:
    found: set[Path] = set()
    for pattern in patterns:
        found.update(p for p in ROOT.glob(pattern) if p.is_file() and "__pycache__" not in p.parts)
    return sorted(found)


# PyInstaller's hash seed (see ``pyinstaller``): part of the key, so output frozen with
# another seed is never reused.
HASH_SEED = "0"


def environment_fingerprint() -> str:
    dists = sorted(f"{d.metadata['Name']}=={d.version}".lower() for d in metadata.distributions())
    return "\n".join([sys.version, sys.platform, f"PYTHONHASHSEED={HASH_SEED}", *dists])


def fingerprint(patterns: Iterable[str], *extra: str) -> str:
    h = hashlib.sha256()
    for path in _files(patterns):
        h.update(path.relative_to(ROOT).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    for value in extra:
        h.update(value.encode() + b"\0")
    return h.hexdigest()


def _prune(name: str, keep: Path) -> None:
    entries = sorted(
        (p for p in CACHE.glob(f"{name}-*") if p.is_dir() and p != keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in entries[KEEP_CACHED - 1 :]:
        shutil.rmtree(old, ignore_errors=True)


MODULES_FILE = "frozen-modules.txt"


def _toc_modules(node: object) -> set[str]:
    """Names of the ``(name, path, "PYMODULE")`` entries anywhere in a PyInstaller TOC."""
    if isinstance(node, tuple) and len(node) == 3 and node[2] == "PYMODULE":
        return {str(node[0])}
    found: set[str] = set()
    if isinstance(node, (list, tuple)):
        for item in node:
            found |= _toc_modules(item)
    return found


def frozen_modules(work: Path, out: Path) -> set[str]:
    """Every module a finished build can import: its archive, base library, extensions."""
    names: set[str] = set(sys.builtin_module_names)
    # The archive, plus the few modules the bootloader carries itself (``struct``, ...).
    for toc_name in ("PYZ-00.toc", "PKG-00.toc"):
        names.update(_toc_modules(ast.literal_eval((work / toc_name).read_text())))
    base = out / "_internal" / "base_library.zip"
    if base.is_file():
        with zipfile.ZipFile(base) as zf:
            for member in zf.namelist():
                if member.endswith(".pyc"):
                    mod = member[: -len(".pyc")].replace("/", ".")
                    names.add(mod.removesuffix(".__init__"))
    for ext in (out / "_internal").rglob("*"):
        if ext.suffix in (".so", ".pyd") and ext.is_file():
            stem = ext.name.split(".")[0]
            parent = ext.parent.relative_to(out / "_internal")
            names.add(stem)  # lib-dynload style: importable by its bare name
            names.add(".".join([*parent.parts, stem]))
    return names


def _missing(cached: Path, needs: Iterable[str]) -> list[str]:
    path = cached / MODULES_FILE
    if not path.is_file():
        return sorted(needs)
    have = set(path.read_text().split())
    return sorted(m for m in needs if m not in have)


def pyinstaller(
    spec: str,
    name: str,
    key: str,
    env: dict[str, str] | None = None,
    needs: Iterable[str] = (),
) -> Path:
    """Run one spec unless its output for ``key`` is cached and provides ``needs``."""
    needs = list(needs)
    cached = CACHE / f"{name}-{key[:20]}"
    out = cached / name
    if (cached / "complete").is_file() and out.is_dir():
        missing = _missing(cached, needs)
        if not missing:
            print(f"build: {name}: up to date ({out})")
            os.utime(cached)
            return out
        print(f"build: {name}: newly imported {', '.join(missing)}: freezing again")
    shutil.rmtree(cached, ignore_errors=True)
    began = time.monotonic()
    print(f"build: {name}: running PyInstaller (takes minutes) ...", flush=True)
    work = BUILD / "pyinstaller" / "work"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--log-level",
            os.environ.get("PYINSTALLER_LOG_LEVEL", "WARN"),
            "--distpath",
            str(cached),
            "--workpath",
            str(work),
            str(ROOT / "installer" / spec),
        ],
        check=True,
        cwd=ROOT,
        # A fixed hash seed: PyInstaller's docs name it the condition for a reproducible
        # build (set and dict order reach its data structures and the bytecode).
        env={**os.environ, "PYTHONHASHSEED": HASH_SEED, **(env or {})},
    )
    modules = frozen_modules(work / Path(spec).stem, out)
    missing = sorted(m for m in needs if m not in modules)
    if missing:
        raise BuildError(f"{name}: PyInstaller did not freeze {', '.join(missing)}")
    (cached / MODULES_FILE).write_text("\n".join(sorted(modules)) + "\n")
    (cached / "complete").write_text(key)
    _prune(name, cached)
    print(f"build: {name}: done in {time.monotonic() - began:.0f} s")
    return out


def build_sidecar() -> Path:
    # The sidecar's own code ships as source: a cached build stays valid while it provides
    # every module that code imports.
    key = fingerprint(SIDECAR_INPUTS, environment_fingerprint())
    return pyinstaller(
        "sidecar.spec", SIDECAR_DIR, key, needs=importable_here(imported_modules(ROOT / "sidecar"))
    )


def build_agent(key_module: Path) -> Path:
    key = fingerprint(AGENT_INPUTS, key_module.read_text(), environment_fingerprint())
    env = {"LITELLM_BRIDGE_KEY_MODULE_DIR": str(key_module.parent)}
    return pyinstaller(
        "agent.spec",
        APP_NAME,
        key,
        env,
        needs=importable_here(
            [m for m in imported_modules(ROOT / "tray_agent") if m.split(".")[0] != "sidecar"]
        ),
    )


def _copy_tree(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, symlinks=True, dirs_exist_ok=True)


def _copy_sources(package: Path, dst: Path) -> None:
    """The package's ``.py`` files only (no caches, no data the build did not mean to ship)."""
    for src in sorted(package.rglob("*.py")):
        if "__pycache__" in src.parts:
            continue
        target = dst / src.relative_to(package)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)


def normalise_modes(root: Path) -> None:
    """0755 for folders and executables, 0644 for the rest (shared libraries included: the
    loader maps them without the execute bit, and Debian policy wants them 0644)."""
    for dirpath, _dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)  # noqa: S103 -- installed folders are world-readable
        for name in filenames:
            path = Path(dirpath) / name
            if path.is_symlink():
                continue
            executable = os.stat(path).st_mode & 0o111 and not slim.is_shared_object(path)
            os.chmod(path, 0o755 if executable else 0o644)


def codesign(files: list[Path]) -> None:
    """Authenticode (or any platform) signing of executables, when a command is configured.

    ``LITELLM_BRIDGE_CODESIGN_CMD`` is run with the files appended; it must sign in place.
    """
    command = os.environ.get(CODESIGN_ENV)
    if not command or not files:
        return
    argv = shlex.split(command, posix=os.name != "nt") + [str(f) for f in files]
    subprocess.run(argv, check=True)
    print(f"build: code-signed {len(files)} file(s)")


def assemble(agent: Path, sidecar: Path, key: keys.Ed25519PrivateKey) -> Path:
    """The app folder as installed: the agent, ``sidecar/`` beside it, the signed manifest."""
    app = BUILD / "app" / APP_NAME
    if app.exists():
        shutil.rmtree(app)
    app.mkdir(parents=True)
    _copy_tree(agent, app)
    _copy_sources(ROOT / "tray_agent", app / "_internal" / "app" / "tray_agent")
    for source in AGENT_SIDECAR_SOURCES:
        target = app / "_internal" / "app" / source
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / source, target)
    _copy_tree(sidecar, app / SIDECAR_DIR)
    _copy_sources(ROOT / "sidecar", app / SIDECAR_DIR / "_internal" / "app" / "sidecar")
    # The update repository's root metadata: the only update keys this package trusts.
    from installer.release import shipped_root
    from tray_agent.update.names import SHIPPED_ROOT

    (app / SHIPPED_ROOT).write_bytes(shipped_root())
    if sys.platform.startswith("linux"):
        counts = slim.slim(app)
        print(
            f"build: stripped {counts['stripped']} shared objects "
            f"(-{counts['stripped_bytes'] / 1e6:.0f} MB), removed {counts['removed']} unused "
            f"files, cleared {counts['gzip_times']} gzip times"
        )
    normalise_modes(app)
    # Code signing rewrites the executables: it must happen before they are hashed.
    codesign(sorted(p for p in app.rglob("*.exe") if p.is_file()))
    manifest = sign_bundle(app, key)
    print(f"build: signed manifest of {len(manifest.files)} files (key {manifest.key_id})")
    return app


def bundle() -> Path:
    preflight.check()
    key, origin = keys.signing_key(CACHE / "keys")
    print(f"build: signing with the {origin}")
    key_module = keys.write_module(key, BUILD / "key-module")
    # Two independent PyInstaller runs, each mostly on one core: side by side.
    with ThreadPoolExecutor(max_workers=2) as pool:
        sidecar_job = pool.submit(build_sidecar)
        agent_job = pool.submit(build_agent, key_module)
        sidecar, agent = sidecar_job.result(), agent_job.result()
    # What the two programs hold, for the package's copyright file (installer/copyright.py).
    modules = (agent.parent / MODULES_FILE).read_text().split()
    modules += (sidecar.parent / MODULES_FILE).read_text().split()
    (BUILD / MODULES_FILE).write_text("\n".join(sorted(set(modules))) + "\n")
    return assemble(agent, sidecar, key)


def package() -> Path:
    from installer.deb import build_deb

    app = bundle()
    DIST.mkdir(parents=True, exist_ok=True)
    modules = set((BUILD / MODULES_FILE).read_text().split())
    deb = build_deb(app, BUILD / "deb", DIST, modules)
    print(f"build: {deb} ({deb.stat().st_size / 1e6:.1f} MB)")
    return deb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="installer.build", description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=["check", "bundle", "package"])
    args = parser.parse_args(argv)
    try:
        if args.target == "check":
            preflight.check()
            print("build: environment ok")
        elif args.target == "bundle":
            print(f"build: {bundle()}")
        else:
            package()
    except preflight.PreflightError as exc:
        for line in str(exc).splitlines():
            print(f"build: refused: {line}", file=sys.stderr)
        return 1
    except (keys.SigningKeyError, UpdateKeyError, BuildError) as exc:
        print(f"build: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(
            f"build: failed: {' '.join(map(str, exc.cmd))} exited {exc.returncode}", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
