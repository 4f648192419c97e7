"""Fixtures of the docs tests: `mirror`, a temporary look-alike of the checkout (doc_commands.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from doc_commands import make_mirror


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    """A folder with a link to each top-level entry of the checkout but data/ and .git."""
    return make_mirror(tmp_path)
