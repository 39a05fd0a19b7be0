"""The command line answers --help, --version, list and shell completion without importing torch (seconds of
start-up): the heavy modules are imported inside the commands that need them. Checked in a fresh interpreter, by
what is imported, not by how long it takes (no test depends on the machine's speed)."""
import json
import os
import subprocess
import sys

import pytest

import sentae

PROBE = """
import json, sys
from sentae.cli import main
try:
    main({args!r}, standalone_mode=False)
except SystemExit:
    pass
print(json.dumps({{"torch": "torch" in sys.modules}}), file=sys.stderr)
"""


def _imports_torch(args: list[str], env: dict | None = None) -> bool:
    res = subprocess.run([sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True,
                         env={**os.environ, **(env or {})}, timeout=120)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stderr.strip().splitlines()[-1])["torch"]


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["list"], ["sample", "--help"], ["train", "--help"],
                                  ["eval", "--help"], ["transfer", "--help"]])
def test_answers_without_torch(args):
    assert not _imports_torch(args), f"`sentae {' '.join(args)}` imported torch"


def test_shell_completion_without_torch():
    env = {"_SENTAE_COMPLETE": "bash_complete", "COMP_WORDS": "sentae info rnn", "COMP_CWORD": "2"}
    res = subprocess.run([sys.executable, "-c", "import sys\nfrom sentae.cli import main\ntry:\n    main(prog_name='sentae')"
                          "\nexcept SystemExit:\n    pass\nprint('torch' in sys.modules, file=sys.stderr)"],
                         capture_output=True, text=True, env={**os.environ, **env}, timeout=120)
    assert res.stderr.strip().splitlines()[-1] == "False", res.stderr
    assert "plain,rnn_vae" in res.stdout.splitlines()  # model names complete from entry-point metadata


def test_the_package_exports_resolve_lazily():
    assert set(sentae.__all__) - {"__version__"} == set(sentae._EXPORTS)
    for name in sentae.__all__:
        assert getattr(sentae, name) is not None
    assert "SentaeModel" in dir(sentae)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        sentae.nope  # noqa: B018
