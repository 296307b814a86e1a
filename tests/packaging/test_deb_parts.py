"""The .deb's parts that need no freeze: stripping rules, gzip times, hard links, the
maintainer, the copyright, changelog and man page generators (fast; the session build's
results are checked in test_lintian.py and test_reproducible.py)."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from installer import deb, debian_docs, slim
from installer.copyright import copyright_text, licence_name, locked_versions


def _shared_object(tmp_path: Path) -> Path:
    """A real extension module of this interpreter, copied (it carries a symbol table)."""
    import _ctypes

    src = Path(_ctypes.__file__)
    dst = tmp_path / "lib" / src.name
    dst.parent.mkdir()
    shutil.copyfile(src, dst)
    return dst


def test_shared_objects_are_stripped_and_executables_are_not(tmp_path: Path) -> None:
    so = _shared_object(tmp_path)
    exe = tmp_path / "program"
    shutil.copyfile("/bin/true", exe)  # an ELF executable without a .so name
    exe_before = exe.read_bytes()
    count, _saved = slim.strip_shared_objects(tmp_path)
    assert count == 1
    sections = subprocess.run(["readelf", "-S", "-W", str(so)], capture_output=True, text=True)
    assert " .symtab " not in sections.stdout
    assert exe.read_bytes() == exe_before  # the bootloader keeps its appended archive
    # Still a loadable library.
    probe = subprocess.run(
        [sys.executable, "-c", f"import ctypes; ctypes.CDLL({str(so)!r})"], capture_output=True
    )
    assert probe.returncode == 0, probe.stderr


def test_gzip_header_times_are_cleared_and_the_data_is_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "data.json.gz"
    with gzip.GzipFile(path, "wb", mtime=1_700_000_000) as gz:
        gz.write(b'{"a": 1}')
    assert slim.zero_gzip_times(tmp_path) == 1
    assert path.read_bytes()[4:8] == b"\0\0\0\0"
    assert gzip.decompress(path.read_bytes()) == b'{"a": 1}'
    assert slim.zero_gzip_times(tmp_path) == 0


def test_unused_files_go_and_metadata_stays(tmp_path: Path) -> None:
    for rel in ("pkg/.gitignore", "pkg/README.md", "pkg/__pycache__/x.pyc", "pkg/data.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    (tmp_path / "pkg-1.0.dist-info").mkdir()
    # Licences and metadata stay; the build machine's install record does not (it changes
    # with that machine's environment: a reproducible build cannot ship it).
    for name in ("README.md", "METADATA", "entry_points.txt", "RECORD"):
        (tmp_path / "pkg-1.0.dist-info" / name).write_text("x")
    slim.drop_unused_files(tmp_path)
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == [
        "pkg-1.0.dist-info/METADATA",
        "pkg-1.0.dist-info/README.md",
        "pkg-1.0.dist-info/entry_points.txt",
        "pkg/data.txt",
    ]


def test_identical_files_become_hard_links_in_staging_only(tmp_path: Path) -> None:
    app = tmp_path / "app"
    for rel in ("_internal/libx.so", "sidecar/_internal/libx.so"):
        (app / rel).parent.mkdir(parents=True, exist_ok=True)
        (app / rel).write_bytes(b"\x01" * 10000)
    (app / "sidecar/_internal/other.so").write_bytes(b"\x02" * 10000)
    staged = tmp_path / "staged"
    deb._link_tree(app, staged)
    assert deb.link_duplicates(staged) == 10000
    a, b = staged / "_internal/libx.so", staged / "sidecar/_internal/libx.so"
    assert a.stat().st_ino == b.stat().st_ino
    assert (staged / "sidecar/_internal/other.so").stat().st_ino != a.stat().st_ino
    # The app folder keeps one file per path.
    assert (app / "_internal/libx.so").stat().st_ino != (
        app / "sidecar/_internal/libx.so"
    ).stat().st_ino


def test_maintainer_is_configurable_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(deb.MAINTAINER_ENV, raising=False)
    assert deb.maintainer() == deb.DEFAULT_MAINTAINER
    monkeypatch.setenv(deb.MAINTAINER_ENV, "IT Tools <it-tools@corp.example>")
    assert deb.maintainer() == "IT Tools <it-tools@corp.example>"
    assert "Maintainer: IT Tools <it-tools@corp.example>" in deb.control("1.0", "amd64", (2, 31), 1)
    monkeypatch.setenv(deb.MAINTAINER_ENV, "it-tools@localhost")
    with pytest.raises(ValueError, match=deb.MAINTAINER_ENV):
        deb.maintainer()


def test_copyright_lists_bundled_distributions_with_locked_versions(tmp_path: Path) -> None:
    text = copyright_text({"cryptography.hazmat", "yaml", "json"}, tmp_path, "A <a@b.example>")
    pins = locked_versions()
    assert text.startswith("Format: https://www.debian.org/doc/packaging-manuals/")
    assert f"Comment: Python distribution cryptography {pins['cryptography']}." in text
    assert f"Comment: Python distribution PyYAML {pins['pyyaml']}." in text
    # Full licences Debian ships are referred to, not repeated (lintian).
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" not in text
    assert "/usr/share/common-licenses/Apache-2.0" in text
    from importlib import metadata

    assert " " not in licence_name(metadata.distribution("PyYAML"))


def test_changelog_and_man_page_are_the_same_for_one_commit_time() -> None:
    one = debian_docs.changelog("1.2.3", "A <a@b.example>", 1_700_000_000)
    assert one == debian_docs.changelog("1.2.3", "A <a@b.example>", 1_700_000_000)
    assert one.startswith("litellm-bridge (1.2.3) stable; urgency=medium")
    assert " -- A <a@b.example>  Tue, 14 Nov 2023 22:13:20 +0000" in one
    page = debian_docs.manpage("1.2.3", 1_700_000_000)
    assert page == debian_docs.manpage("1.2.3", 1_700_000_000)
    assert '"2023\\-11\\-14"' in page and "litellm\\-bridge doctor" in page
    assert debian_docs.gzip_bytes(b"x") == debian_docs.gzip_bytes(b"x")
    assert debian_docs.gzip_bytes(b"x")[4:8] == b"\0\0\0\0"


def test_source_date_epoch_comes_from_the_variable_or_the_commit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1234")
    assert debian_docs.source_date_epoch() == 1234
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    commit = subprocess.run(
        ["git", "log", "-1", "--format=%ct"], capture_output=True, text=True, cwd=deb.ROOT
    ).stdout.strip()
    assert debian_docs.source_date_epoch() == int(commit or 0)
    assert os.environ.get("SOURCE_DATE_EPOCH") is None


def test_misaligned_segments_are_detected_and_never_left_after_stripping(tmp_path: Path) -> None:
    """A PT_LOAD segment whose address and offset are not page-congruent (what strip makes of
    some patchelf-rewritten wheel libraries, e.g. numpy's OpenBLAS) is detected; stripping
    leaves only loadable files (stripped, or put back as they were)."""
    import struct

    so = _shared_object(tmp_path)
    assert slim.loadable_segments(so)
    data = bytearray(so.read_bytes())
    phoff = struct.unpack_from("<Q", data, 0x20)[0]
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        at = phoff + i * phentsize
        if struct.unpack_from("<I", data, at)[0] == 1:  # PT_LOAD
            vaddr = struct.unpack_from("<Q", data, at + 16)[0]
            struct.pack_into("<Q", data, at + 16, vaddr + 8)
            break
    broken = tmp_path / "lib" / "libbroken.so"
    broken.write_bytes(bytes(data))
    assert not slim.loadable_segments(broken)
    slim.strip_shared_objects(tmp_path / "lib")
    for path in (tmp_path / "lib").iterdir():
        assert slim.loadable_segments(path), path
