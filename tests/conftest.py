import os
from pathlib import Path

import pytest

from fake_plugins import FakeDists
from sentae.registry import AUTOLOAD_ENV

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture
def shared_data(monkeypatch):
    """Point $SENTAE_DATA_DIR at the shared corpora (skip when they are not beside the checkout)."""
    root = Path(os.environ.get("SENTAE_DATA_DIR", SHARED_DATA))
    if not root.is_dir():
        pytest.skip(f"shared corpora not found at {root}")
    monkeypatch.setenv("SENTAE_DATA_DIR", str(root))
    return root


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """Fake plugin distributions on ``sys.path`` for this test only (registry and CLI tests)."""
    monkeypatch.delenv(AUTOLOAD_ENV, raising=False)
    f = FakeDists(tmp_path, monkeypatch)
    yield f
    f.cleanup()
