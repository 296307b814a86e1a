"""The package's machine-readable ``copyright`` file (DEP-5), made from what is bundled.

Every Python distribution whose modules the two frozen programs hold gets a paragraph with
its name, version (from ``requirements/run.lock``, which is what was installed) and licence
(its metadata's ``License-Expression``, ``License`` or licence classifier) with the licence
texts the distribution ships. Shared libraries PyInstaller copied from the build machine
are named with the Debian package they came from. The output depends only on the installed
distributions and the build machine's packages: nothing in it changes between two builds.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "run.lock"
FORMAT_URL = "https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
APP = "opt/litellm-bridge"
# Trove classifiers to SPDX names, for distributions that declare nothing else.
CLASSIFIERS = {
    "Apache Software License": "Apache-2.0",
    "BSD License": "BSD-3-Clause",
    "MIT License": "MIT",
    "MIT No Attribution License (MIT-0)": "MIT-0",
    "ISC License (ISCL)": "ISC",
    "Python Software Foundation License": "PSF-2.0",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "GNU Lesser General Public License v2 or later (LGPLv2+)": "LGPL-2.1+",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0",
    "GNU Library or Lesser General Public License (LGPL)": "LGPL-2.1+",
    "The Unlicense (Unlicense)": "Unlicense",
    "zlib/libpng License": "Zlib",
}


# Free-text ``License`` values seen in bundled distributions, as SPDX names.
ALIASES = {
    "Apache License, Version 2.0": "Apache-2.0",
    "Apache Software": "Apache-2.0",
    "LGPLv3": "LGPL-3.0",
    "LGPLv2+": "LGPL-2.1+",
}


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_versions(lock: Path = LOCK) -> dict[str, str]:
    """``name -> version`` of every pin in a ``uv pip compile`` lock."""
    pins: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", line)
        if m:
            pins[normalize(m.group(1))] = m.group(2)
    return pins


def bundled_distributions(modules: Iterable[str]) -> dict[str, metadata.Distribution]:
    """Installed distributions that provide a top-level module of ``modules``."""
    providers = metadata.packages_distributions()
    found: dict[str, metadata.Distribution] = {}
    for top in sorted({m.split(".")[0] for m in modules}):
        for name in providers.get(top, []):
            key = normalize(name)
            if key not in found:
                found[key] = metadata.distribution(name)
    return found


def licence_name(dist: metadata.Distribution) -> str:
    """A DEP-5 licence short name: one word per licence, no spaces inside a name."""
    meta = dist.metadata
    expression = meta.get("License-Expression")
    if expression:
        return _dep5(expression)
    declared = (meta.get("License") or "").strip()
    if declared and "\n" not in declared and len(declared) <= 40:
        declared = declared.removesuffix(" License").removesuffix(" license")
        return _dep5(ALIASES.get(declared, declared))
    first_line = declared.splitlines()[0].strip() if declared else ""
    if first_line in ("MIT License", "BSD 3-Clause License", "Apache License"):
        return {"MIT License": "MIT", "BSD 3-Clause License": "BSD-3-Clause"}.get(
            first_line, "Apache-2.0"
        )
    for classifier in meta.get_all("Classifier") or []:
        if classifier.startswith("License :: "):
            last = classifier.split(" :: ")[-1]
            if last in CLASSIFIERS:
                return CLASSIFIERS[last]
    return f"unknown-{normalize(dist.metadata['Name'])}"


def _dep5(expression: str) -> str:
    # DEP-5 joins alternatives with "or" and combined licences with "and"; a name itself
    # must not contain spaces.
    text = re.sub(r"\s+", " ", expression.strip())
    text = re.sub(r"\bOR\b", "or", re.sub(r"\bAND\b", "and", text))
    text = re.sub(r"\s+WITH\s+", "-with-", text)
    words = [w for w in re.split(r"(\s+or\s+|\s+and\s+|[()])", text) if w]
    return "".join(
        w if w.strip() in ("or", "and", "(", ")", "") else w.replace(" ", "-") for w in words
    )


def licence_texts(dist: metadata.Distribution) -> str:
    """The licence files the distribution installed (``License-File`` or ``LICENSE*``)."""
    names = dist.metadata.get_all("License-File") or []
    candidates = [f for f in dist.files or [] if Path(str(f)).name in {Path(n).name for n in names}]
    if not candidates:
        candidates = [
            f
            for f in dist.files or []
            if re.match(r"(LICEN[CS]E|COPYING|NOTICE)", Path(str(f)).name, re.I)
            and ".dist-info" in str(f)
        ]
    texts = []
    for entry in sorted(candidates, key=str):
        try:
            text = Path(str(dist.locate_file(entry))).read_text(errors="replace").strip()
        except OSError:
            continue
        texts.append(_common_licence(text) or text)
    return "\n\n".join(t for t in texts if t)


# Licences Debian ships in /usr/share/common-licenses: a copyright file names the file there
# instead of repeating the text (lintian: copyright-file-contains-full-*-license).
_FULL_TEXT = re.compile(
    r"^[ \t]*(?:(?P<apache>Apache License\s+Version 2\.0, January 2004)"
    r"|GNU (?P<lesser>LESSER |LIBRARY )?GENERAL PUBLIC LICENSE"
    r"\s+Version (?P<gpl>[23])(?:\.(?P<minor>\d))?)",
    re.M,
)


def _common_licence(text: str) -> str | None:
    """``text`` with a full licence text Debian ships replaced by a pointer to it."""
    m = _FULL_TEXT.search(text)
    if m is None or len(text) - m.start() < 5000 or "TERMS AND CONDITIONS" not in text[m.start() :]:
        return None
    if m.group("apache"):
        name = "Apache-2.0"
    elif m.group("lesser"):
        name = "LGPL-3" if m.group("gpl") == "3" else "LGPL-2.1" if m.group("minor") else "LGPL-2"
    else:
        name = f"GPL-{m.group('gpl')}"
    pointer = f"The full text of the {name} licence is in /usr/share/common-licenses/{name}."
    before = text[: m.start()].rstrip()
    return f"{before}\n\n{pointer}" if before else pointer


def _body(text: str) -> str:
    """A DEP-5 continuation block: each line indented, empty lines as ``.``."""
    lines = [line.rstrip() for line in text.expandtabs().splitlines()]
    return "\n".join(f" {line}" if line.strip() else " ." for line in lines)


def _paragraph(fields: list[tuple[str, str]]) -> str:
    out = []
    for name, value in fields:
        first, _, rest = value.partition("\n")
        out.append(f"{name}: {first}".rstrip())
        if rest:
            out.append(_body(rest))
    return "\n".join(out)


def _upstream(dist: metadata.Distribution) -> str:
    meta = dist.metadata
    authors = meta.get("Author") or meta.get("Author-email") or meta.get("Maintainer") or ""
    authors = re.sub(r"\s+", " ", authors).strip()
    return authors or f"the {meta['Name']} authors"


def system_libraries(app: Path) -> dict[str, list[str]]:
    """Debian package -> bundled library names PyInstaller copied from this machine."""
    names = sorted(
        {
            p.name
            for p in app.rglob("lib*.so*")
            if p.is_file() and p.parent.name == "_internal" and ".libs" not in p.parent.name
        }
    )
    if not names:
        return {}
    # Absolute paths are looked up directly (a glob makes dpkg read every file list per name).
    arch = (
        subprocess.run(
            ["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], capture_output=True, text=True
        ).stdout.strip()
        or "x86_64-linux-gnu"
    )
    dirs = [f"/lib/{arch}", f"/usr/lib/{arch}", "/lib", "/usr/lib"]
    result = subprocess.run(
        ["dpkg-query", "-S", *(f"{d}/{n}" for n in names for d in dirs)],
        capture_output=True,
        text=True,
    )
    owners: dict[str, set[str]] = {}
    for line in result.stdout.splitlines():
        package, _, path = line.partition(": ")
        name = Path(path.strip()).name
        if name in names and ", " not in package and "diversion" not in line:
            owners.setdefault(package.split(":")[0], set()).add(name)
    return {pkg: sorted(libs) for pkg, libs in sorted(owners.items())}


def copyright_text(modules: Iterable[str], app: Path, maintainer: str, lock: Path = LOCK) -> str:
    pins = locked_versions(lock)
    paragraphs = [
        _paragraph(
            [
                ("Format", FORMAT_URL),
                ("Upstream-Name", "litellm-bridge"),
                ("Upstream-Contact", maintainer),
                (
                    "Comment",
                    "LiteLLM Bridge and the third-party software its two frozen programs\n"
                    "bundle under /opt/litellm-bridge. Each Python distribution is listed with\n"
                    "the version that was built in and its declared licence.",
                ),
            ]
        ),
        _paragraph(
            [
                ("Files", "*"),
                ("Copyright", "the LiteLLM Bridge authors"),
                ("License", "proprietary\nLicensed to the organization that ships this package."),
            ]
        ),
        _paragraph(
            [
                ("Files", f"{APP}/_internal/libpython3* {APP}/sidecar/_internal/libpython3*"),
                ("Copyright", "Python Software Foundation"),
                ("License", "PSF-2.0\n" + _psf_note()),
            ]
        ),
        _paragraph(
            [
                ("Files", f"{APP}/litellm-bridge {APP}/sidecar/litellm-bridge-sidecar"),
                ("Copyright", "PyInstaller Development Team"),
                (
                    "License",
                    "GPL-2+-with-bootloader-exception\n"
                    "The PyInstaller bootloader is distributed under the GNU General Public\n"
                    "License, version 2 or later, with an exception that allows it to be used\n"
                    "to build and distribute programs under any licence. On Debian systems the\n"
                    "GPL version 2 is in /usr/share/common-licenses/GPL-2.",
                ),
            ]
        ),
    ]
    for key, dist in sorted(bundled_distributions(modules).items()):
        name = dist.metadata["Name"]
        version = pins.get(key, dist.version)
        tops = sorted({t for t in (dist.read_text("top_level.txt") or "").split() if t} | {name})
        files = " ".join(
            f"{APP}/{where}_internal/{t}/*" for where in ("", "sidecar/") for t in tops
        )
        texts = licence_texts(dist) or (
            "The distribution's metadata carries no licence text; see its project page."
        )
        paragraphs.append(
            _paragraph(
                [
                    ("Files", files),
                    ("Copyright", _upstream(dist)),
                    ("License", f"{licence_name(dist)}\n{texts}"),
                    ("Comment", f"Python distribution {name} {version}."),
                ]
            )
        )
    for package, libs in system_libraries(app).items():
        paragraphs.append(
            _paragraph(
                [
                    (
                        "Files",
                        " ".join(f"{APP}/_internal/{n} {APP}/sidecar/_internal/{n}" for n in libs),
                    ),
                    ("Copyright", f"the authors of the Debian package {package}"),
                    (
                        "License",
                        f"other-debian-{package}\n"
                        f"Copied from the Debian package {package} of the build machine; its\n"
                        f"licence is in /usr/share/doc/{package}/copyright of that package.",
                    ),
                ]
            )
        )
    return "\n\n".join(paragraphs) + "\n"


def _psf_note() -> str:
    return (
        "The Python interpreter and standard library are distributed under the Python\n"
        "Software Foundation License Version 2; the full text is at\n"
        "https://docs.python.org/3/license.html."
    )
