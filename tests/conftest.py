"""Test-wide set-up: make the helper modules in tests/ importable (netns, labs, ...) and the fixtures
more than one test file uses."""

import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from lrmd.testing import LoopFs  # noqa: E402  (after the path set-up above)


@pytest.fixture
def loopfs(tmp_path):
    """An ext4 file system on a loop device, detached again after the test."""
    if os.geteuid() != 0 or not shutil.which("losetup") or not shutil.which("mkfs.ext4"):
        pytest.skip("needs root, losetup and mkfs.ext4")
    fs = LoopFs(str(tmp_path))
    try:
        yield fs
    finally:
        fs.close()
