"""The `sentae` command keeps freed memory in glibc's heap, so a buffer freed at one decoding step is reused at the
next instead of coming back from the kernel page by page; a user's own MALLOC_* settings win."""
import os
import subprocess
import sys

import pytest

# Allocates and frees a 40 MB block 30 times (above glibc's largest dynamic mmap threshold, 32 MB) and prints the
# page faults it took: with the default settings every block is a fresh mapping, touched page by page.
PROBE = """
import resource, sys
if sys.argv[1] == "retain":
    from sentae.cli.process import retain_freed_memory
    print(retain_freed_memory())
else:
    print(None)
start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(30):
    block = bytearray(40 << 20)
    del block
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start)
"""


def _probe(mode: str, **env: str) -> tuple[str, int]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", PROBE, mode], env={**environ, **env}, capture_output=True,
                         text=True, check=True).stdout.split()
    return out[0], int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_blocks_are_reused_instead_of_faulted_in_again():
    took, default_faults = _probe("default")
    took, retained_faults = _probe("retain")
    if took != "True":
        pytest.skip("the C library has no glibc mallopt")
    # 30 x 40 MB touched is about 300,000 faults by default; kept in the heap, the first block's 10,000 or so
    assert default_faults > 100_000
    assert retained_faults < default_faults / 5


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_users_malloc_variable_wins():
    took, faults = _probe("retain", MALLOC_ARENA_MAX="2")
    assert took == "False" and faults > 100_000


def test_the_command_applies_it_before_a_subcommand(monkeypatch):
    from click.testing import CliRunner

    import sentae.cli as cli

    calls = []
    monkeypatch.setattr(cli, "retain_freed_memory", lambda: calls.append(1) or True)
    res = CliRunner().invoke(cli.main, ["list"])
    assert res.exit_code == 0, res.output
    assert calls == [1]
