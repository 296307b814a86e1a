"""``include:`` during validation: every included file read, checked and merged.

Issues in an included file are reported at its own line and column; a file that cannot be
used stops the merge (the config is then invalid as a whole).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tray_agent.config import includes, yamlload
from tray_agent.config.includes import Source, SourceMap
from tray_agent.config.issues import excerpt
from tray_agent.config.locate import START, locate, locate_key
from tray_agent.config.validate_collector import InFile, IssueCollector
from tray_agent.config.validate_yaml import parse, read_text

INCLUDE_HINT = "put the models in config.yaml, or in an included file as model_list:"


def _include_entries(out: IssueCollector, data: dict[str, Any]) -> list[tuple[int, str]]:
    entries = data.get(includes.INCLUDE_KEY)
    if entries is None:
        return []
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        out.add(
            out.at((includes.INCLUDE_KEY,)),
            "include must be a list of file names",
            "include: [models.yaml] (relative to the file that includes it)",
        )
        return []
    return list(enumerate(entries))


def merge_includes(
    out: IssueCollector, data: dict[str, Any], root_file: Path, budget: yamlload.Budget
) -> dict[str, Any] | None:
    """``data`` with every included file merged in, or None when one cannot be used.

    Every file is read through the bounded loader and charged to the same ``budget``: the
    merged config is what the sidecar gets, so it is what must stay small.
    """
    sources = SourceMap(Source(out.file, out.parsed.root if out.parsed else None))
    out.sources = sources
    merged = {k: v for k, v in data.items() if k != includes.INCLUDE_KEY}
    before = len(out.issues)
    pending = [(i, e, root_file, sources.main) for i, e in _include_entries(out, data)]
    done = {Path(os.path.abspath(root_file))}
    ok = len(out.issues) == before
    while pending and ok:
        index, entry, declared_in, declaring = pending.pop(0)
        where = locate(declaring.root, (includes.INCLUDE_KEY, index))
        target = includes.resolve_path(entry, declared_in, root_file)
        if target in done:
            continue
        done.add(target)
        if not target.exists():
            out.add(
                InFile(where.line, where.column, declaring.file),
                f"included file not found: {excerpt(entry, 80)} (looked for {target})",
                "create it, or remove it from include:",
            )
            return None
        included = IssueCollector(str(target))
        text, issue = read_text(target)
        parsed = parse(included, text, budget) if text is not None else None
        if issue is not None:
            included.issues.append(issue)
        source = Source(included.file, parsed.root if parsed else None)
        if parsed is not None and parsed.data is not None and not isinstance(parsed.data, dict):
            included.add(
                START, "an included file must be a mapping (model_list: ...)", INCLUDE_HINT
            )
        elif parsed is not None and isinstance(parsed.data, dict):
            for key in includes.REFUSED_KEYS:
                if key in parsed.data:
                    included.add(
                        locate_key(parsed.root, (key,)),
                        f"an included file may not set {key} (only config.yaml may)",
                        includes.REFUSED_HINT.format(key=key),
                    )
            nested = IssueCollector(included.file, parsed)
            pending += [(i, e, target, source) for i, e in _include_entries(nested, parsed.data)]
            included.issues += nested.issues
            if not included.issues:
                includes.merge(merged, parsed.data, source, sources)
        out.issues += included.issues
        ok = not any(i.is_error for i in included.issues)
    return merged if ok else None
