"""Windows machine policy: ``%ProgramFiles%\\LiteLLM Bridge``, the ``HKLM`` policy key, ACLs.

The registry source is the ``Policy`` JSON value of ``HKLM\\SOFTWARE\\Policies\\LiteLLMBridge``
with the Group Policy template's individual settings merged over it (``policy_settings``).

A file or directory is refused when its owner is not an administrator principal or its DACL
lets a non-admin principal write, append, delete, or change its permissions or owner
(Everyone, Users, Authenticated Users, Interactive, Guests, or any one account). Checked with
``GetNamedSecurityInfoW``; verified only by types (``mypy --platform win32``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from tray_agent.platform.policy_settings import (
    POLICY_VALUE,
    SIGNATURE_VALUE,
    SUBKEYS,
    registry_policy,
)

REGISTRY_KEY = r"SOFTWARE\Policies\LiteLLMBridge"
REGISTRY_NAME = r"HKLM\SOFTWARE\Policies\LiteLLMBridge\Policy"

ADMIN_SIDS = frozenset(
    {
        "S-1-5-18",  # SYSTEM
        "S-1-5-32-544",  # Administrators
        "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464",  # TrustedInstaller
    }
)
NON_ADMIN_GROUPS = {
    "S-1-1-0": "Everyone",
    "S-1-5-11": "Authenticated Users",
    "S-1-5-32-545": "Users",
    "S-1-5-4": "Interactive",
    "S-1-5-32-546": "Guests",
}
# FILE_WRITE_DATA/ADD_FILE, FILE_APPEND_DATA/ADD_SUBDIRECTORY, FILE_DELETE_CHILD, DELETE,
# WRITE_DAC, WRITE_OWNER, GENERIC_ALL, GENERIC_WRITE.
WRITE_MASK = 0x2 | 0x4 | 0x40 | 0x10000 | 0x40000 | 0x80000 | 0x10000000 | 0x40000000
ACCESS_ALLOWED_ACE_TYPE = 0
INHERIT_ONLY_ACE = 0x08


def _who(sid: str) -> str | None:
    """A principal that is not an administrator, by name; None for admin principals."""
    if sid in ADMIN_SIDS:
        return None
    if sid in NON_ADMIN_GROUPS:
        return NON_ADMIN_GROUPS[sid]
    if sid.startswith("S-1-5-21-") and not sid.endswith("-500") and not sid.endswith("-512"):
        return f"the account {sid}"
    return None


if sys.platform == "win32":
    import ctypes
    import winreg
    from ctypes import wintypes

    _advapi = ctypes.WinDLL("advapi32", use_last_error=True)
    _kernel = ctypes.WinDLL("kernel32", use_last_error=True)

    class _AceHeader(ctypes.Structure):
        _fields_ = [
            ("AceType", ctypes.c_ubyte),
            ("AceFlags", ctypes.c_ubyte),
            ("AceSize", ctypes.c_ushort),
        ]

    class _Acl(ctypes.Structure):
        _fields_ = [
            ("AclRevision", ctypes.c_ubyte),
            ("Sbz1", ctypes.c_ubyte),
            ("AclSize", ctypes.c_ushort),
            ("AceCount", ctypes.c_ushort),
            ("Sbz2", ctypes.c_ushort),
        ]

    def _sid_string(sid: int) -> str:
        out = wintypes.LPWSTR()
        if not _advapi.ConvertSidToStringSidW(ctypes.c_void_p(sid), ctypes.byref(out)):
            raise ctypes.WinError(ctypes.get_last_error())
        try:
            return str(out.value)
        finally:
            _kernel.LocalFree(out)

    def _security(path: Path) -> tuple[str, list[tuple[str, int]]]:
        """The owner SID and the (SID, mask) of every allow entry that applies to ``path``."""
        owner = ctypes.c_void_p()
        dacl = ctypes.c_void_p()
        descriptor = ctypes.c_void_p()
        # SE_FILE_OBJECT = 1; OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION = 1 | 4
        err = _advapi.GetNamedSecurityInfoW(
            str(path),
            1,
            1 | 4,
            ctypes.byref(owner),
            None,
            ctypes.byref(dacl),
            None,
            ctypes.byref(descriptor),
        )
        if err:
            raise ctypes.WinError(err)
        try:
            owner_sid = _sid_string(owner.value or 0)
            entries: list[tuple[str, int]] = []
            if dacl.value:
                acl = _Acl.from_address(dacl.value)
                for index in range(acl.AceCount):
                    ace = ctypes.c_void_p()
                    if not _advapi.GetAce(dacl, index, ctypes.byref(ace)) or not ace.value:
                        continue
                    header = _AceHeader.from_address(ace.value)
                    if (
                        header.AceType != ACCESS_ALLOWED_ACE_TYPE
                        or header.AceFlags & INHERIT_ONLY_ACE
                    ):
                        continue
                    mask = ctypes.c_uint32.from_address(ace.value + 4).value
                    entries.append((_sid_string(ace.value + 8), mask))
            return owner_sid, entries
        finally:
            _kernel.LocalFree(descriptor)

    def _values_of(key: winreg.HKEYType) -> dict[str, tuple[Any, int]]:
        out: dict[str, tuple[Any, int]] = {}
        index = 0
        while True:
            try:
                name, data, kind = winreg.EnumValue(key, index)
            except OSError:  # ERROR_NO_MORE_ITEMS
                return out
            out[name] = (data, kind)
            index += 1

    def _read_values() -> dict[str, dict[str, tuple[Any, int]]]:
        """Every value of the policy key and of each subkey the template writes to."""
        values: dict[str, dict[str, tuple[Any, int]]] = {}
        for subkey in SUBKEYS:
            path = REGISTRY_KEY + ("\\" + subkey if subkey else "")
            try:
                with winreg.OpenKey(
                    winreg.HKEY_LOCAL_MACHINE, path, 0, winreg.KEY_READ | winreg.KEY_WOW64_64KEY
                ) as key:
                    values[subkey] = _values_of(key)
            except FileNotFoundError:
                continue
        return values

    class WindowsMachinePolicy:
        def machine_dir(self) -> Path:
            base = os.environ.get("PROGRAMW6432") or os.environ.get("PROGRAMFILES")
            return Path(base or r"C:\Program Files") / "LiteLLM Bridge"

        def registry_name(self) -> str | None:
            return REGISTRY_NAME

        def registry_values(self) -> tuple[str | None, str | None]:
            # The Policy JSON document with the Group Policy template's settings merged
            # over it (policy_settings: how each ADMX setting maps onto a policy key).
            values = _read_values()
            root = values.get("", {})
            text, signature = (
                str(data) if kind in (winreg.REG_SZ, winreg.REG_EXPAND_SZ) else None
                for data, kind in (root.get(n, (None, 0)) for n in (POLICY_VALUE, SIGNATURE_VALUE))
            )
            return registry_policy(text, signature, values)

        def non_admin_writable(self, path: Path) -> str | None:
            owner, entries = _security(path)
            if owner not in ADMIN_SIDS:
                return f"is owned by {_who(owner) or owner}, not an administrator"
            for sid, mask in entries:
                who = _who(sid)
                if who is not None and mask & WRITE_MASK:
                    return f"lets {who} change it (its ACL grants write access)"
            return None

        def parent_unsafe(self, path: Path) -> str | None:
            return self.non_admin_writable(path)

    BACKEND = WindowsMachinePolicy()
