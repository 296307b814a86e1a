"""Tray tests run on the private desktop (scripts/with-desktop.sh): Xvfb, D-Bus, trayer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.tray.desktop import NotificationMonitor, require_desktop


@pytest.fixture(scope="module")
def notifications() -> Iterator[NotificationMonitor]:
    require_desktop()
    mon = NotificationMonitor()
    yield mon
    mon.close()
