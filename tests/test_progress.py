"""Progress bars of long commands: on a terminal only, counting what was done."""
from sentae.utils import Progress


def test_a_bar_counts_to_its_total_when_enabled(capsys):
    with Progress(5, "eval test", "sentences", enabled=True) as bar:
        for _ in range(5):
            bar.update()
        assert bar._bar.n == 5 and bar._bar.total == 5
    err = capsys.readouterr().err
    assert "eval test" in err and "/5" in err and "sentences" in err


def test_no_bar_off_a_terminal_or_for_nothing(capsys):
    with Progress(5, "eval", enabled=False) as bar:
        bar.update(5)
    with Progress(0, "eval", enabled=True) as bar:
        bar.update(0)
    assert capsys.readouterr().err == ""
    bar = Progress(3, "eval")  # stderr under pytest is not a terminal
    bar.update(3)
    bar.close()
    bar.close()  # closing twice is harmless
    assert capsys.readouterr().err == ""
