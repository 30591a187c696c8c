"""The thread policy: dg.set_num_threads/get_num_threads, the fair share of the cores among
concurrent trainings (deltagrad.threads.ThreadPolicy) and ``deltagrad train --threads``."""
import os
import subprocess
import sys

import pytest

import deltagrad as dg
from deltagrad.threads import ThreadPolicy, fair_share, live_trainings, parse_threads


@pytest.fixture(autouse=True)
def _keep_thread_count():
    before = dg.get_num_threads()
    yield
    dg.set_num_threads(before)


def test_fair_share_divides_the_cores_and_never_goes_below_one():
    assert fair_share(1, cores=8) == 8
    assert fair_share(2, cores=8) == 4
    assert fair_share(3, cores=8) == 2
    assert fair_share(3, cores=2) == 1
    assert fair_share(0, cores=2) == 2


@pytest.mark.parametrize("text, value", [("auto", "auto"), (" AUTO ", "auto"), ("3", 3), (2, 2)])
def test_parse_threads_accepts_counts_and_auto(text, value):
    assert parse_threads(text) == value


@pytest.mark.parametrize("text", ["0", "-1", "two", "1.5", ""])
def test_parse_threads_names_the_bad_value(text):
    with pytest.raises(ValueError, match="positive whole number or 'auto'"):
        parse_threads(text)


def test_set_num_threads_changes_what_get_num_threads_reports():
    dg.set_num_threads(1)
    assert dg.get_num_threads() == 1
    with pytest.raises(RuntimeError, match="positive integer"):
        dg.set_num_threads(0)


def _sleeper():
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_auto_policy_shares_the_cores_with_a_live_training_and_takes_them_back(tmp_path):
    other = _sleeper()
    try:
        with ThreadPolicy("auto", cores=4, folder=str(tmp_path), interval=0) as policy:
            assert live_trainings(str(tmp_path)) == [os.getpid()]
            assert policy.current == 4 and dg.get_num_threads() == 4
            (tmp_path / str(other.pid)).write_text(str(other.pid))   # a second training starts
            assert policy.poll() == 2 and dg.get_num_threads() == 2
            other.kill()
            other.wait()                                              # ... and ends
            assert policy.poll() == 4 and dg.get_num_threads() == 4
            assert live_trainings(str(tmp_path)) == [os.getpid()]    # its entry is cleaned up
        assert live_trainings(str(tmp_path)) == []                   # ours is removed on exit
    finally:
        other.kill()
        other.wait()


def test_policy_restores_the_thread_count_it_found(tmp_path):
    dg.set_num_threads(2)
    with ThreadPolicy(1, folder=str(tmp_path)) as policy:
        assert policy.current == 1 and dg.get_num_threads() == 1
        assert live_trainings(str(tmp_path)) == []  # a fixed count does not register
    assert dg.get_num_threads() == 2


def test_poll_reads_the_folder_at_most_once_per_interval(tmp_path):
    with ThreadPolicy("auto", cores=2, folder=str(tmp_path), interval=3600) as policy:
        other = _sleeper()
        try:
            (tmp_path / str(other.pid)).write_text(str(other.pid))
            assert policy.poll() == 2              # not re-read yet
            assert policy.poll(force=True) == 1
        finally:
            other.kill()
            other.wait()


def test_train_command_takes_threads_and_rejects_a_bad_count(tmp_path):
    from deltagrad.cli import main
    out = tmp_path / "run"
    assert main(["train", "adaline", "--epochs", "1", "--threads", "1", "--out", str(out)]) == 0
    assert (out / "best.npz").exists()
    assert main(["train", "adaline", "--threads", "none", "--out", str(tmp_path / "r2")]) == 2
    assert not (tmp_path / "r2").exists()


def test_train_function_names_a_bad_thread_count_before_touching_the_folder(tmp_path):
    from deltagrad.experiments import get_experiment
    from deltagrad.train.run import RunError
    from deltagrad.train.trainer import train
    with pytest.raises(RunError, match="--threads"):
        train(get_experiment("adaline"), str(tmp_path / "run"), {"epochs": 1}, threads=0)
    assert not (tmp_path / "run").exists()
