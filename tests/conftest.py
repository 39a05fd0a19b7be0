import os
from pathlib import Path

import pytest

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
