"""Settings for every test of the repository (tests/ and each plugin's tests/)."""
import os
import shutil
import tempfile

_MADE: list[str] = []


def pytest_configure(config):
    # The token-id cache of text corpora goes to a folder of the test session's own (subprocesses inherit it), not
    # to the user's ~/.cache/sentae, unless the caller chose a cache folder.
    if "SENTAE_CACHE_DIR" not in os.environ:
        os.environ["SENTAE_CACHE_DIR"] = folder = tempfile.mkdtemp(prefix="sentae-test-cache-")
        _MADE.append(folder)


def pytest_unconfigure(config):
    for folder in _MADE:  # only the folder this session made
        shutil.rmtree(folder, ignore_errors=True)
