"""Reading what runs left behind (experiments/results.py) and what the table builders share:
the end-of-sweep callback and the command line."""

import json
import logging
import sys
from types import SimpleNamespace

import pandas as pd
import pytest

from experiments.results import TablesCallback, find_runs, flatten, read_record, table_command
from reducers.errors import ReducerError
from reducers.status import Status


def test_runs_are_found_in_natural_order(tmp_path):
    for name in ("10", "2", "1/.hydra", "b/.hydra", "a/.hydra"):
        (tmp_path / name).mkdir(parents=True)
    (tmp_path / "10" / "metrics.json").write_text("{}")
    (tmp_path / "2" / ".hydra").mkdir()
    assert [p.name for p in find_runs([tmp_path])] == ["1", "2", "10", "a", "b"]  # mixed names
    with pytest.raises(ReducerError, match="no such folder"):
        find_runs([tmp_path / "nope"])
    with pytest.raises(ReducerError, match="no run folders"):
        find_runs([tmp_path / "1" / ".hydra"])


def test_records_missing_read_as_failed_and_mangled_as_unreadable(tmp_path):
    missing = read_record(tmp_path)
    assert missing.status is Status.failed
    assert missing.error == "no metrics.json: the run crashed or was killed"
    (tmp_path / "metrics.json").write_text('{"status": "ok", "metr')
    assert read_record(tmp_path).status is Status.unreadable
    assert "unreadable metrics.json" in read_record(tmp_path).error
    (tmp_path / "metrics.json").write_text(json.dumps({"status": "ok", "metrics": {"x": 1}}))
    assert read_record(tmp_path).metrics == {"x": 1}
    for bad, why in [({"status": "done"}, "status 'done' is not one of ok, diverged"),
                     ({"status": "ok", "metrics": {"x": "high"}}, "metric 'x' is 'high'"),
                     ({"status": "ok"}, "status 'ok' but no metrics"),
                     ({"status": "failed", "diverged": {"when": 3}}, "not a run's record")]:
        (tmp_path / "metrics.json").write_text(json.dumps(bad))
        assert read_record(tmp_path).status is Status.unreadable
        assert why in read_record(tmp_path).error, bad


def test_flattening():
    assert flatten({"model": {"kl": {"beta": 1.0}, "net": {"hidden": [8]}}, "seed": 0}) == \
        {"model.kl.beta": 1.0, "model.net.hidden": [8], "seed": 0}


class Builder:
    """A table builder as results expects one: this one writes a one-row table."""
    PROG, DESCRIPTION = "python -m builder", "test builder"
    calls: list = []

    @classmethod
    def write_tables(cls, paths, out, **options):
        cls.calls.append((list(map(str, paths)), str(out), options))
        if options.get("fail"):
            raise ReducerError("nothing to tabulate")
        return pd.DataFrame({"status": ["ok"]})

    @staticmethod
    def show(out):
        return f"tables in {out}"


@pytest.fixture
def builder(monkeypatch):
    Builder.calls.clear()
    monkeypatch.setitem(sys.modules, "builder", Builder)
    return Builder


def test_the_callback_writes_the_tables_and_never_costs_the_sweep(builder, tmp_path, caplog):
    config = SimpleNamespace(hydra=SimpleNamespace(sweep=SimpleNamespace(dir=str(tmp_path))))
    TablesCallback("builder", sort_by="silhouette").on_multirun_end(config)
    assert builder.calls == [([str(tmp_path)], str(tmp_path), {"sort_by": "silhouette"})]
    with caplog.at_level(logging.ERROR):
        TablesCallback("builder", fail=True).on_multirun_end(config)  # logged, not raised
        TablesCallback("no_such_builder").on_multirun_end(config)
    assert "nothing to tabulate" in caplog.text
    assert "rebuild them with python -m no_such_builder" in caplog.text


def test_the_table_command(builder, tmp_path, capsys):
    assert table_command(builder, [str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == f"tables in {tmp_path}"
    assert table_command(builder, [str(tmp_path), "--fail"],
                         {"--fail": {"action": "store_true"}}) == 2
    assert capsys.readouterr().err == "error: nothing to tabulate\n"
    with pytest.raises(SystemExit):  # argparse: several PATHs need --out
        table_command(builder, [str(tmp_path), str(tmp_path)])
    assert "--out is required" in capsys.readouterr().err
