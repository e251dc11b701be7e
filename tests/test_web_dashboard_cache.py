"""DashboardCache: a request never waits for figures to be recomputed, except the first."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from sohoa.web import dashboard


def test_old_figures_are_served_while_new_ones_are_computed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[int] = []
    release = threading.Event()
    finished = threading.Event()

    def compute(_web: object) -> int:
        if made:  # the recomputation waits until the test has asked meanwhile
            assert release.wait(10)
        made.append(len(made))
        if len(made) == 2:
            finished.set()
        return made[-1]

    monkeypatch.setattr(dashboard, "compute", compute)
    web = SimpleNamespace(config=SimpleNamespace(dashboard_ttl_s=0.0))
    cache = dashboard.DashboardCache(web)  # type: ignore[arg-type]
    assert cache.get() == 0  # the first figures: computed in the request
    assert cache.get() == 0  # expired: recomputing in the background, the old ones meanwhile
    assert cache.get() == 0  # and no second recomputation starts
    web.config.dashboard_ttl_s = 3600.0  # the new figures stay
    release.set()
    assert finished.wait(10)
    for _ in range(1000):  # the thread keeps the figures just after compute returns them
        if cache.get() == 1:
            break
        threading.Event().wait(0.01)
    assert cache.get() == 1 and made == [0, 1]
