"""What ``clients setup`` prints last: the one command to try, and known first-run traps.

The try commands send one short prompt through the bridge, so a user sees at once whether
the tool reaches the proxy (the request also shows in the Status window's charts).
"""

from __future__ import annotations

import shlex
from pathlib import Path

PROMPT = "Reply with one word: ready"

# Gemini CLI (0.39 and later) treats every folder as untrusted until the user trusts it;
# headless runs (`gemini -p`) in an untrusted folder stop with exit code 55 before any
# request, and the message is easy to miss in a script's output.
GEMINI_TRUST = (
    "headless `gemini -p` refuses to run in a folder it does not trust and exits with code "
    "55. Trust the folder once: run `gemini` there and accept the trust prompt (or use "
    "/permissions); for a single scripted run add --skip-trust or set "
    "GEMINI_CLI_TRUST_WORKSPACE=true"
)


def try_command(name: str, model: str | None, url: str, env_file: Path | None = None) -> str:
    """The command that proves ``name`` reaches the bridge at ``url``."""
    q = shlex.quote(PROMPT)
    m = model or "<model>"  # a served model: `litellm-bridge config show`
    load = f"set -a; . {shlex.quote(str(env_file))}; set +a; " if env_file else ""
    commands = {
        "claude-code": f"claude -p {q}",
        "codex": f"codex exec {q}",
        "gemini": f"gemini -p {q}",
        "aider": f"aider --no-git --yes --message {q}" + ("" if model else f" --model openai/{m}"),
        "curl": (
            f'curl -s {url.rstrip("/")}/v1/models -H "Authorization: Bearer $(litellm-bridge key)"'
        ),
        "openai-sdk": load
        + 'python -c "from openai import OpenAI; '
        + 'print([m.id for m in OpenAI().models.list()])"',
        "anthropic-sdk": load
        + 'python -c "import anthropic; print(anthropic.Anthropic().messages.create('
        + f"model='{m}', max_tokens=20, messages=[{{'role': 'user', 'content': 'hi'}}])"
        + '.content[0].text)"',
    }
    return commands.get(name, f"{name} (see `litellm-bridge clients list`)")


def first_run_notes(name: str) -> list[str]:
    """Traps a tool sets on its first run with the bridge."""
    return [GEMINI_TRUST] if name == "gemini" else []
