"""The database under faults: concurrent first runs, a full disk, a lock held too long, damage, a
read-only home. Each is driven through the real CLI against a real SQLite file."""

import multiprocessing
import os
import sqlite3

from interviewer.cli import app

ANSWER = "Adam keeps moving averages of the gradient and of its square, with bias correction."


def _practise_at_the_barrier(barrier, home: str, answer_file: str) -> None:
    """One `interviewer practice` run in its own process, started together with the others."""
    os.environ["INTERVIEWER_HOME"] = home
    barrier.wait()
    args = ["practice", "optimization/adam", "--grader", "offline", "--answer-file", answer_file, "--json"]
    try:
        app(args, prog_name="interviewer")
    except SystemExit as exit:
        os._exit(exit.code or 0)
    os._exit(0)


def test_concurrent_first_runs_on_a_fresh_home_store_every_answer(cli, tmp_path, monkeypatch):
    home, answer = tmp_path / "fresh-home", tmp_path / "answer.txt"
    answer.write_text(ANSWER, encoding="utf-8")
    # Warm everything but the database (imports, the bank cache), so the runs meet at opening it.
    cli("practice", "optimization/adam", "--grader", "offline", "--answer-file", str(answer))
    monkeypatch.setenv("INTERVIEWER_HOME", str(home))
    assert cli("bank", "list").exit_code == 0 and not (home / "interviewer.db").exists()
    runs = 8
    fork = multiprocessing.get_context("fork")
    barrier = fork.Barrier(runs)
    processes = [
        fork.Process(target=_practise_at_the_barrier, args=(barrier, str(home), str(answer)))
        for _ in range(runs)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    assert [p.exitcode for p in processes] == [0] * runs
    stored = sqlite3.connect(home / "interviewer.db").execute("SELECT count(*) FROM answers").fetchone()[0]
    assert stored == runs
