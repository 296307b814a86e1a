"""Make the assembled app folder smaller and its bytes the same on every build.

Run by ``installer/build.py`` on the assembled folder *before* the manifest is hashed and
signed: every change here rewrites files the manifest covers.

- Shared libraries and extension modules lose their symbols (``strip --strip-unneeded``).
  The two PyInstaller executables are left alone: the bootloader finds its archive appended
  to its own file, and ``strip`` would cut that archive off.
- Files the product never reads go: version-control leftovers, ``__pycache__`` folders,
  package documentation.
- Gzip members get a zero header time, so the files (and lintian) do not depend on when a
  wheel was built.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

_ELF = b"\x7fELF"
# ELF e_type values (little and big endian both read as one byte at offset 16 on x86/arm).
_ET_DYN = 3
_PT_LOAD = 1
_PAGE = 4096
# Dropped wherever they are: nothing at run time opens them.
VCS_NAMES = frozenset({".gitignore", ".gitattributes", ".gitkeep", ".hgignore"})
# Package documentation (read by people browsing a source tree, never by the code).
DOC_STEMS = frozenset({"readme", "agents", "changelog", "changes", "contributing"})
DOC_SUFFIXES = frozenset({".md", ".rst", ".txt"})
# Gzip header: magic, method, flags, then the 4-byte MTIME field at offset 4.
_GZIP_MAGIC = b"\x1f\x8b\x08"
_FHCRC = 0x02


def _files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if not path.is_symlink():
                yield path


def is_shared_object(path: Path) -> bool:
    """An ELF shared object named like a library or extension (``x.so``, ``libx.so.1``)."""
    name = path.name
    if not (name.endswith(".so") or ".so." in name):
        return False
    with open(path, "rb") as fh:
        head = fh.read(18)
    return head[:4] == _ELF and len(head) == 18 and head[16] == _ET_DYN


def loadable_segments(path: Path) -> bool:
    """Whether every PT_LOAD segment of a 64-bit ELF file is page-congruent.

    glibc refuses a library whose segment's address and file offset differ by a non-multiple
    of the page size ("ELF load command address/offset not page-aligned"): what ``strip``
    makes of a library whose headers ``patchelf`` rewrote (auditwheel-repaired wheels).
    """
    with open(path, "rb") as fh:
        data = fh.read(1 << 16)
    if data[:4] != _ELF or data[4] != 2 or data[5] != 1:
        return True  # only 64-bit little-endian files are checked (what is built here)
    (phoff,) = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    if phoff + phentsize * phnum > len(data):
        return False
    for i in range(phnum):
        p_type, _flags, offset, vaddr = struct.unpack_from("<IIQQ", data, phoff + i * phentsize)
        if p_type == _PT_LOAD and (vaddr - offset) % _PAGE:
            return False
    return True


def strip_shared_objects(root: Path) -> tuple[int, int]:
    """``strip --strip-unneeded`` every shared object below ``root``; (files, bytes saved).

    Executables are never passed (see the module docstring). A stripped file that would no
    longer load (see ``loadable_segments``: some libraries wheels vendor in ``NAME.libs/``,
    whose headers auditwheel rewrote with patchelf), or that ``strip`` cannot handle, is put
    back as it was: it still works, it is only larger.
    """
    strip = shutil.which("strip")
    if strip is None:
        raise FileNotFoundError("strip (binutils) is not installed: apt-get install binutils")
    targets = [p for p in _files(root) if is_shared_object(p)]
    stripped = saved = 0
    for path in targets:
        original = path.read_bytes()
        result = subprocess.run(
            [strip, "--strip-unneeded", "--preserve-dates", str(path)], capture_output=True
        )
        if result.returncode != 0 or not loadable_segments(path):
            path.write_bytes(original)
            continue
        stripped += 1
        saved += len(original) - path.stat().st_size
    return stripped, saved


INSTALL_RECORDS = {"RECORD", "SOURCES.txt", "installed-files.txt", "direct_url.json"}


def drop_unused_files(root: Path) -> list[Path]:
    """Remove version-control files, bytecode caches and package docs; what was removed."""
    removed: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames):
            if name == "__pycache__":
                shutil.rmtree(Path(dirpath) / name)
                removed.append(Path(dirpath) / name)
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in filenames:
            path = Path(dirpath) / name
            # dist-info folders keep their files: licences and metadata are read there --
            # except the install records, which list the build machine's installed files
            # (they change with its environment, not with the product, and nothing reads
            # them at run time: a reproducible build must not ship them).
            in_metadata = path.parent.name.endswith((".dist-info", ".egg-info"))
            is_doc = path.suffix in DOC_SUFFIXES and path.stem.lower() in DOC_STEMS
            install_record = in_metadata and name in INSTALL_RECORDS
            if name in VCS_NAMES or (is_doc and not in_metadata) or install_record:
                path.unlink()
                removed.append(path)
    return removed


def zero_gzip_times(root: Path) -> int:
    """Set the header time of every ``.gz`` file to 0 (no time); how many were changed.

    Only the header's MTIME field changes: it is not covered by the member's CRC, and a
    header with its own CRC (FHCRC) is left alone.
    """
    changed = 0
    for path in _files(root):
        if not path.name.endswith((".gz", ".tgz")):
            continue
        with open(path, "r+b") as fh:
            head = fh.read(8)
            if len(head) < 8 or head[:3] != _GZIP_MAGIC or head[3] & _FHCRC:
                continue
            if head[4:8] != b"\0\0\0\0":
                fh.seek(4)
                fh.write(b"\0\0\0\0")
                changed += 1
    return changed


def slim(root: Path) -> dict[str, int]:
    """All of the above on ``root``; counts for the build log."""
    removed = drop_unused_files(root)
    stripped, saved = strip_shared_objects(root)
    return {
        "removed": len(removed),
        "stripped": stripped,
        "stripped_bytes": saved,
        "gzip_times": zero_gzip_times(root),
    }
