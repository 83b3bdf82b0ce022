"""The tables of an anomaly-detection sweep (experiments/anomaly_tables.py): a real sweep from
the command line ends with them, and the command line rebuilds them."""

import pandas as pd
import pytest

from experiments.anomaly_tables import main
from experiments.compare import main as compare_main
from tests.helpers import run_cli
from tests.test_anomaly_app import TINY


def test_a_sweep_ends_with_per_class_tables(tmp_path, capsys):
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", *TINY, "detector=ae,vae", "anomaly.normal_class=0,1",
                   "anomaly.figures=false", f"hydra.sweep.dir={sweep}",
                   module="experiments.anomaly")
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(sweep / "comparison.csv")
    assert sorted(zip(table.detector, table["class"])) == \
        [("ae", 0), ("ae", 1), ("vae", 0), ("vae", 1)]
    assert (table.status == "ok").all()
    md = (sweep / "comparison.md").read_text()
    assert "## AUROC per class" in md and "| one_class | 0 |" in md and "**mean**" in md
    assert "Tested on the data's test split (200 images)." in md
    ae_mean = table[table.detector == "ae"].auroc.mean()
    assert f"{ae_mean:.3f}" in md.split("## Average precision")[0]
    assert (sweep / "auroc_per_class.png").exists()
    assert "epoch 2/2" in (sweep / "0" / "anomaly.log").read_text()

    assert main([str(sweep), "--out", str(tmp_path / "again")]) == 0
    assert (tmp_path / "again" / "comparison.md").read_text() == md
    assert capsys.readouterr().out.strip() == md.strip()
    assert compare_main([str(sweep)]) == 2  # the reducers' table builder refuses them
    assert "python -m experiments.anomaly_tables" in capsys.readouterr().err


@pytest.mark.slow  # 8 s on 2 cores: CI runs it with the slow tests
def test_the_tables_say_which_test_set_and_keep_two_apart(tmp_path):
    """Runs tested on another dataset (heldout=) are labelled with it; merged with runs on
    the data's own split, each detector's column names its test set."""
    runs = tmp_path / "runs"
    for name, extra in (("own", []), ("other", ["heldout=mnist5k", "heldout.limit=300"])):
        proc = run_cli(*TINY, "anomaly.figures=false", *extra, f"hydra.run.dir={runs / name}",
                       module="experiments.anomaly")
        assert proc.returncode == 0, proc.stderr
    assert main([str(runs / "other"), "--out", str(tmp_path / "one")]) == 0
    assert "Tested on mnist5k (300 images)." in (tmp_path / "one" / "comparison.md").read_text()
    assert main([str(runs), "--out", str(tmp_path / "both")]) == 0
    table = pd.read_csv(tmp_path / "both" / "comparison.csv")
    assert sorted(table.detector) == ["ae on mnist5k", "ae on the data's test split"]
