"""Test-wide set-up: make the helper modules in tests/ importable (netns, ...)."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
