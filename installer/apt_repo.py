"""An internal apt repository of the built packages, signed with a GPG key.

    python -m installer.apt_repo [--deb FILE ...] [--out DIR] [--suite stable] [--valid-days N]

``make apt-repo`` runs it on ``dist/litellm-bridge_*.deb``. The layout is the one apt reads
from any static web server::

    DIR/pool/main/l/litellm-bridge/litellm-bridge_V_ARCH.deb   every version ever added
    DIR/dists/SUITE/main/binary-ARCH/Packages, Packages.gz
    DIR/dists/SUITE/Release, InRelease (clear-signed), Release.gpg (detached)
    DIR/litellm-bridge-archive-keyring.gpg                     the public key (binary)

Adding to an existing ``DIR`` keeps the versions already in its pool, so ``apt-get install
litellm-bridge=V`` can still go back. The key: ``LITELLM_BRIDGE_APT_GNUPGHOME`` (a GnuPG home
holding the company's secret key) with ``LITELLM_BRIDGE_APT_KEY`` (its fingerprint); without
them a development key is generated once in the build cache
(``~/.cache/litellm-bridge-build/keys/apt-gnupg``, never shipped): a repository signed with it
is only for testing.
"""

from __future__ import annotations

import argparse
import email.utils
import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from installer.build import CACHE, DIST

PACKAGE = "litellm-bridge"
COMPONENT = "main"
HOME_ENV = "LITELLM_BRIDGE_APT_GNUPGHOME"
KEY_ENV = "LITELLM_BRIDGE_APT_KEY"
DEV_HOME = CACHE / "keys" / "apt-gnupg"
DEV_UID = "LiteLLM Bridge development apt key (testing only)"
KEYRING = f"{PACKAGE}-archive-keyring.gpg"


class AptRepoError(Exception):
    """The repository cannot be written (what is wrong and what to do)."""


@dataclass(frozen=True)
class SigningKey:
    home: Path
    fingerprint: str
    development: bool


def _gpg(home: Path, *args: str, data: bytes | None = None) -> bytes:
    argv = ["gpg", "--homedir", str(home), "--batch", "--quiet", "--no-tty", *args]
    try:
        result = subprocess.run(argv, input=data, capture_output=True, check=False)
    except FileNotFoundError:
        raise AptRepoError("gpg not found: install gnupg (apt install gnupg)") from None
    if result.returncode != 0:
        raise AptRepoError(
            f"gpg {' '.join(args[:2])} failed (GnuPG home {home}): "
            f"{result.stderr.decode(errors='replace').strip()[-2000:]}"
        )
    return result.stdout


def _secret_fingerprints(home: Path) -> list[str]:
    out = _gpg(home, "--with-colons", "--list-secret-keys").decode()
    lines = out.splitlines()
    # The fingerprint line that follows each primary secret key ("sec").
    return [
        lines[i + 1].split(":")[9]
        for i, line in enumerate(lines[:-1])
        if line.startswith("sec:") and lines[i + 1].startswith("fpr:")
    ]


def signing_key(environ: dict[str, str] | None = None) -> SigningKey:
    env = os.environ if environ is None else environ
    configured = env.get(HOME_ENV)
    if configured:
        home = Path(configured)
        wanted = env.get(KEY_ENV, "").replace(" ", "").upper()
        found = _secret_fingerprints(home)
        if wanted and wanted not in found:
            raise AptRepoError(f"{KEY_ENV}={wanted}: no such secret key in {HOME_ENV}={home}")
        if not wanted and len(found) != 1:
            raise AptRepoError(
                f"{HOME_ENV}={home} holds {len(found)} secret keys: name one in {KEY_ENV}"
            )
        return SigningKey(home, wanted or found[0], development=False)
    if not DEV_HOME.is_dir() or not _secret_fingerprints(DEV_HOME):
        DEV_HOME.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(DEV_HOME, 0o700)  # gpg refuses a home others can read
        _gpg(DEV_HOME, "--passphrase", "", "--quick-gen-key", DEV_UID, "ed25519", "sign", "never")
        print(f"apt-repo: generated a development signing key in {DEV_HOME}", file=sys.stderr)
    return SigningKey(DEV_HOME, _secret_fingerprints(DEV_HOME)[0], development=True)


def _control(deb: Path) -> str:
    try:
        out = subprocess.run(
            ["dpkg-deb", "--field", str(deb)], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise AptRepoError(f"{deb}: not a readable .deb ({exc})") from None
    return out.rstrip("\n")


def _field(control: str, name: str) -> str:
    for line in control.splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise AptRepoError(f"the package's control has no {name} field")


def _digests(path: Path) -> tuple[str, str, int]:
    md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            md5.update(chunk)
            sha256.update(chunk)
    return md5.hexdigest(), sha256.hexdigest(), path.stat().st_size


def add_to_pool(deb: Path, out: Path) -> Path:
    control = _control(deb)
    name = f"{_field(control, 'Package')}_{_field(control, 'Version')}_"
    name += f"{_field(control, 'Architecture')}.deb"
    target = out / "pool" / COMPONENT / PACKAGE[0] / PACKAGE / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and _digests(target)[1] != _digests(deb)[1]:
        raise AptRepoError(
            f"{target} already holds another build of this version: bump the version "
            "(apt never downloads a version it already has again)"
        )
    if not target.exists():
        try:
            os.link(deb, target)  # same file system: no copy of ~200 MB
        except OSError:
            shutil.copyfile(deb, target)
    return target


def packages_index(out: Path) -> dict[str, str]:
    """``Packages`` text per architecture, for every .deb in the pool (sorted by name)."""
    stanzas: dict[str, list[str]] = {}
    for deb in sorted((out / "pool").rglob("*.deb")):
        control = _control(deb)
        md5, sha256, size = _digests(deb)
        extra = f"Filename: {deb.relative_to(out).as_posix()}\nSize: {size}\n"
        extra += f"MD5sum: {md5}\nSHA256: {sha256}"
        stanzas.setdefault(_field(control, "Architecture"), []).append(f"{control}\n{extra}\n")
    return {arch: "\n".join(items) for arch, items in stanzas.items()}


def release_text(suite: str, files: dict[str, bytes], valid_days: int | None) -> str:
    # SOURCE_DATE_EPOCH: the same inputs give the same Release (reproducible builds).
    now = int(os.environ.get("SOURCE_DATE_EPOCH") or time.time())
    lines = [
        "Origin: LiteLLM Bridge",
        "Label: LiteLLM Bridge",
        f"Suite: {suite}",
        f"Codename: {suite}",
        f"Date: {email.utils.formatdate(now, usegmt=True)}",
    ]
    if valid_days:
        # apt refuses the repository once this passes: an attacker cannot replay an old one
        # for longer (re-sign within that time).
        until = email.utils.formatdate(now + valid_days * 86400, usegmt=True)
        lines.append(f"Valid-Until: {until}")
    archs = sorted({name.split("/")[1].removeprefix("binary-") for name in files})
    lines += [
        f"Architectures: {' '.join(archs)}",
        f"Components: {COMPONENT}",
        "Description: LiteLLM Bridge packages",
    ]
    for title, algo in (("MD5Sum", "md5"), ("SHA256", "sha256")):
        lines.append(f"{title}:")
        for name, data in sorted(files.items()):
            digest = hashlib.new(algo, data, usedforsecurity=False).hexdigest()
            lines.append(f" {digest} {len(data):>16} {name}")
    return "\n".join(lines) + "\n"


def write_repo(
    debs: list[Path], out: Path, suite: str, key: SigningKey, valid_days: int | None = None
) -> Path:
    for deb in debs:
        add_to_pool(deb, out)
    index = packages_index(out)
    if not index:
        raise AptRepoError(f"no .deb to publish (none given and none in {out / 'pool'})")
    dist = out / "dists" / suite
    shutil.rmtree(dist, ignore_errors=True)
    files: dict[str, bytes] = {}
    for arch, text in index.items():
        rel = f"{COMPONENT}/binary-{arch}"
        (dist / rel).mkdir(parents=True)
        data = text.encode()
        # mtime 0: the same Packages gives the same Packages.gz.
        packed = gzip.compress(data, compresslevel=9, mtime=0)
        files[f"{rel}/Packages"], files[f"{rel}/Packages.gz"] = data, packed
    for name, data in files.items():
        (dist / name).write_bytes(data)
    release = release_text(suite, files, valid_days).encode()
    (dist / "Release").write_bytes(release)
    local_user = ["--local-user", key.fingerprint, "--digest-algo", "SHA512"]
    (dist / "InRelease").write_bytes(_gpg(key.home, *local_user, "--clearsign", data=release))
    (dist / "Release.gpg").write_bytes(
        _gpg(key.home, *local_user, "--armor", "--detach-sign", data=release)
    )
    (out / KEYRING).write_bytes(_gpg(key.home, "--export", key.fingerprint))
    # gpg started an agent for this home: stop it, nothing else needs it.
    subprocess.run(
        ["gpgconf", "--homedir", str(key.home), "--kill", "gpg-agent"],
        capture_output=True,
        check=False,
    )
    return dist


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m installer.apt_repo", description=__doc__)
    parser.add_argument("--deb", type=Path, action="append", default=None)
    parser.add_argument("--out", type=Path, default=DIST / "apt")
    parser.add_argument("--suite", default="stable")
    parser.add_argument("--valid-days", type=int, default=None)
    args = parser.parse_args(argv)
    debs = args.deb if args.deb is not None else sorted(DIST.glob(f"{PACKAGE}_*.deb"))
    try:
        key = signing_key()
        dist = write_repo(debs, args.out, args.suite, key, args.valid_days)
    except AptRepoError as exc:
        print(f"apt-repo: {exc}", file=sys.stderr)
        return 1
    which = "a DEVELOPMENT key (testing only)" if key.development else "the configured key"
    print(f"apt-repo: {dist} signed with {which} {key.fingerprint}")
    print(f"apt-repo: clients trust {args.out / KEYRING} (signed-by=)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
