"""``deltagrad pgm student`` / ``misconception``: the notes' numbers on the screen and a
drawing on disk."""
import pytest

from deltagrad.cli import main


def test_pgm_student_prints_the_queries_and_draws_the_network(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "student.png"
    assert main(["pgm", "student", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "P(G) = (0.3620, 0.2884, 0.3496)" in text
    assert "P(I=1 | G=C) = 0.0789" in text and "P(I=1 | G=C, D=1) = 0.1091" in text
    assert "P(L=1 | I=1) = 0.7677" in text                       # causal
    assert "15 for the network (1 + 1 + 2 + 8 + 3) against 47" in text
    assert "(L \u27c2 D, I, S | G)" in text and "D \u27c2 I | G: no" in text
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5000


def test_pgm_misconception_prints_z(capsys):
    assert main(["pgm", "misconception"]) == 0
    assert "Z = 7,201,840" in capsys.readouterr().out


def test_pgm_needs_an_example(capsys):
    assert main(["pgm"]) == 2
    assert main(["pgm", "nope"]) == 2
