"""What a test does when its package, corpus or privilege is missing: skip on a developer's
machine, fail under CI (`CI` set), where .ci/run installs everything and a skip would be a
silent pass (the developers' guide)."""

from __future__ import annotations

import os

import pytest


def missing(why: str) -> None:
    """Stop the calling test: pytest.fail under CI, pytest.skip elsewhere."""
    (pytest.fail if os.environ.get("CI") else pytest.skip)(why)


def need(present: bool, why: str) -> None:
    """missing(why) unless present."""
    if not present:
        missing(why)
