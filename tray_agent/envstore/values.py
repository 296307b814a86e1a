"""Which env values a process can be given: what ``os.environ`` and process creation refuse."""

from __future__ import annotations

# One variable (NAME=value) of at most 32767 bytes in UTF-8: Windows' limit for one variable
# (UTF-16 units never outnumber UTF-8 bytes), well under Linux's 128 KiB per string.
MAX_ENTRY_BYTES = 32767
# All entries together: half of Linux's usual 2 MiB for arguments plus environment, so the
# sidecar's own environment and arguments still fit.
MAX_TOTAL_BYTES = 1024 * 1024


def entry_bytes(name: str, value: str) -> int:
    """Room the entry takes in a process environment (NAME=value, its NUL and a pointer)."""
    return len(f"{name}={value}".encode("utf-8", "replace")) + 9


def value_problem(name: str, value: str) -> str | None:
    """Why ``value`` cannot be given to a process as ``name``, or None when it can."""
    if "\0" in value:
        at = value.index("\0")
        return (
            f"the value of {name} contains a NUL byte (at character {at + 1}), which no "
            "process environment can hold; set it again without it"
        )
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return (
            f"the value of {name} is not valid text (it holds bytes that are not UTF-8); "
            "set it again as UTF-8 text"
        )
    if len(name) + 1 + size > MAX_ENTRY_BYTES:
        return (
            f"the value of {name} is too long ({size} bytes): a variable holds at most "
            f"{MAX_ENTRY_BYTES} bytes with its name; keep large data in a file and set the "
            "file's path instead"
        )
    return None
