"""The short "how to use the bridge from your tools" text shown by the tray and wizard.

Laid out for a box about 90 columns wide: per tool a heading, the setup command, then the
tool's by-hand line cut into short pieces (one variable per line, long commands continued
with `` \\`` before an option), so nothing important sits beyond the right edge.
"""

from __future__ import annotations

import re

from tray_agent.clients.base import KEY_ENV, ClientSetup
from tray_agent.clients.registry import all_clients

KEY_REFERENCE = f"${KEY_ENV}"
WIDTH = 88
"""Longest line wanted; the dialogs' text boxes are 90 columns wide."""

INDENT = "    "
_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")


def _words(text: str) -> list[str]:
    """Split on blanks outside '...' and "..." (quotes kept, so the words rejoin as typed)."""
    words: list[str] = []
    current = ""
    quote = ""
    for ch in text:
        if quote:
            current += ch
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            current += ch
            quote = ch
        elif ch.isspace():
            if current:
                words.append(current)
            current = ""
        else:
            current += ch
    if current:
        words.append(current)
    return words


def _chunks(words: list[str], shell: bool) -> list[str]:
    """Units a line may break between: words, or for a command each option with its values."""
    if not shell:
        return words
    chunks: list[str] = []
    for word in words:
        if chunks and not word.startswith("-") and chunks[-1].startswith("-"):
            chunks[-1] += " " + word
        elif chunks and not word.startswith("-") and len(chunks) == 1:
            chunks[0] += " " + word  # the program's own arguments stay with it
        else:
            chunks.append(word)
    return chunks


def _fill(words: list[str], width: int, *, shell: bool) -> list[str]:
    """Greedy fill with a hanging indent; a command's lines continue with ``\\``."""
    room = width - len(" \\") if shell else width
    lines: list[str] = []
    line = ""
    for chunk in _chunks(words, shell):
        if line and len(line) + 1 + len(chunk) > room:
            lines.append(line)
            line = "  " + chunk
        else:
            line = f"{line} {chunk}" if line else chunk
    if line:
        lines.append(line)
    if shell:
        lines = [ln + " \\" for ln in lines[:-1]] + lines[-1:]
    return lines


def _statement(text: str, client: ClientSetup, width: int) -> list[str]:
    """One statement of a tool's by-hand line as short lines."""
    words = _words(text)
    env: list[str] = []
    while words and _ASSIGNMENT.match(words[0]):
        env.append(words.pop(0))
    shell = bool(env) or (bool(words) and words[0] in client.executables)
    body = _fill(words, width, shell=shell)
    if not body:
        return env
    # Each variable on its own line, continued, so the lines paste as one command.
    return [f"{ln} \\" for ln in env] + body


def tool_lines(client: ClientSetup, url: str, key_reference: str, width: int = WIDTH) -> list[str]:
    """The heading and indented lines of one tool."""
    setup = f"litellm-bridge clients setup {client.name}"
    # The "set up:" line already names the command a summary may mention.
    text = client.summary(url, key_reference).replace(f" via `{setup}`", "")
    lines = [client.title, f"  set up:  {setup}", "  by hand:"]
    for part in text.split("; "):
        lines += [INDENT + ln for ln in _statement(part.strip(), client, width - len(INDENT))]
    return lines


def setup_summary(url: str, key_reference: str = KEY_REFERENCE) -> str:
    """A few short lines per tool: how to point it at ``url`` with the key shown as
    ``key_reference`` (e.g. ``$LITELLM_BRIDGE_API_KEY``; never pass the key itself to
    something that is displayed or copied without the user asking for it)."""
    lines = [
        f"LiteLLM Bridge at {url}",
        f"API key: {key_reference} (litellm-bridge key prints it)",
        "Preview a setup first: add --dry-run",
        "Undo a setup: litellm-bridge clients restore NAME",
    ]
    for client in all_clients():
        lines += ["", *tool_lines(client, url, key_reference)]
    return "\n".join(lines) + "\n"
