"""The comparison builder (experiments/compare.py) on real run folders (tiny trainings on real
digits), and its command line."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from experiments.compare import collect, main, write_tables
from experiments.train import train
from reducers.errors import ReducerError
from tests.helpers import composer

FAST = ["trainer.epochs=1", "data.limit=300", "model.net.hidden=[16]", "trainer.progress=false",
        "score.figures=false"]


def _train(run_dir, *overrides):
    return train(composer("train")(*FAST, *overrides), run_dir)


def _write(paths, out, **options):
    return write_tables(paths, out, **options), (out / "comparison.md").read_text()


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """A sweep folder: recon x beta x 2 seeds (8 runs), one diverged run, one crashed run."""
    root = tmp_path_factory.mktemp("sweep")
    n = 0
    for recon in ("mse", "bce"):
        for beta in (0.5, 2.0):
            for seed in (0, 1):
                _train(root / str(n), f"model.recon={recon}", f"model.kl.beta={beta}",
                       f"seed={seed}")
                n += 1
    _train(root / "8", "model.recon=mse", "model.kl.beta=0.5", "seed=2", "optim=sgd",
           "optim.lr=1e12")
    (root / "9" / ".hydra").mkdir(parents=True)  # a job that died before writing metrics
    for seed in (0, 1):  # the AE reference: no beta at all
        _train(root / str(10 + seed), "model=ae", "model.recon=mse", f"seed={seed}")
    return root


def test_one_row_per_run_with_status_and_varied_settings(sweep):
    table, varied = collect([sweep])
    assert len(table) == 12
    assert table.status.value_counts().to_dict() == {"ok": 10, "diverged": 1, "failed": 1}
    assert {"model.recon", "model.kl.beta", "seed"} <= set(varied)
    assert "optim._target_" not in varied and "paths.output_root" not in varied
    crashed = table[table.run.str.endswith("/9")].iloc[0]
    assert crashed.status == "failed" and "no metrics.json" in crashed.reason
    assert "diverged at epoch 1" in table[table.status == "diverged"].iloc[0].reason


def test_outputs_sorting_best_marks_and_unfinished_runs(sweep, tmp_path):
    table, md = _write([sweep], tmp_path, sort_by="knn_acc")
    for name in ("comparison.csv", "comparison.md", "embeddings.png", "metrics_vs_beta.png",
                 "report.html"):
        assert (tmp_path / name).stat().st_size > 0, name
    csv = pd.read_csv(tmp_path / "comparison.csv")
    assert len(csv) == 12 and {"status", "knn_acc", "run", "model.kl.beta"} <= set(csv.columns)
    ok = csv[csv.status == "ok"]
    assert list(ok.knn_acc) == sorted(ok.knn_acc, reverse=True)
    main_table = md.split("## Every run")[1].split("## ")[0]
    best = ok.knn_acc.max()
    assert f"**{best:.3f}**" in main_table
    assert main_table.count("| ok") == 0 and "diverged" not in main_table.split("\n", 2)[2]
    unfinished = md.split("## Runs that did not finish")[1]
    assert "diverged at epoch" in unfinished and "no metrics.json" in unfinished


def test_lower_is_better_metrics_sort_ascending(sweep, tmp_path):
    table, _ = _write([sweep], tmp_path, sort_by="davies_bouldin")
    ok = table[table.status == "ok"].davies_bouldin
    assert list(ok) == sorted(ok)
    with pytest.raises(ReducerError, match="not a metric"):
        _write([sweep], tmp_path, sort_by="accuracy")


def test_seed_summary_is_mean_and_std_over_seeds(sweep, tmp_path):
    table, md = _write([sweep], tmp_path)
    summary = md.split("## Mean ± std over seeds")[1].split("##")[0]
    runs = table[(table.status == "ok") & (table["model.recon"] == "bce")
                 & (table["model.kl.beta"] == 2.0)]
    assert len(runs) == 2
    lines = [line.split("|")[1:-1] for line in summary.strip().splitlines()]
    header = [cell.strip().removesuffix(" ↑").removesuffix(" ↓") for cell in lines[0]]
    rows = [dict(zip(header, (cell.strip(" *") for cell in line))) for line in lines[2:]]
    row = next(r for r in rows if r["model.recon"] == "bce" and r["model.kl.beta"] == "2")
    assert row["seeds"] == "2"
    mean, std = runs.knn_acc.mean(), runs.knn_acc.std()
    assert row["knn_acc"] == f"{mean:.3f} ± {std:.3f}"
    ae = next(r for r in rows if r["model"] == "autoencoder")  # grouped though it has no beta
    assert ae["model.kl.beta"] == "—" and ae["seeds"] == "2"


def test_the_verdict_comes_first_and_one_seed_is_said_to_decide_nothing(sweep, tmp_path):
    _, md = _write([sweep], tmp_path / "all")
    said = next(line for line in md.splitlines() if line.startswith("**Verdict.**"))
    assert md.index(said) < md.index("| ") and "`knn_acc` (higher is better)" in said
    assert "over 2 seeds" in said and "t-test" in said
    # over seeds: each setting's mean first (the decision), then the pivot, then every run
    order = [md.index(h) for h in (said, "## Mean ± std over seeds", "## knn_acc ↑ by ",
                                   "## Every run", "## Runs that did not finish")]
    assert order == sorted(order)
    _, md = _write([sweep / "0", sweep / "2"], tmp_path / "one")  # mse at two betas, seed 0
    assert "cannot tell settings apart" in md.split("| ")[0]


def test_every_metric_says_its_direction_and_meaning(sweep, tmp_path):
    _, md = _write([sweep], tmp_path)
    for table in ("## Mean ± std over seeds", "## Every run"):
        head = md.split(table)[1].splitlines()[2]  # the table's header
        assert "| knn_acc ↑ |" in head and "| davies_bouldin ↓ |" in head
        assert "| recon_mse ↓ |" in head and "| active_units |" in head  # a count: no arrow
        assert "| model.kl.beta |" in head  # settings have none either
    said = next(p for p in md.split("\n\n") if p.startswith("↑ higher is better, ↓ lower"))
    assert md.index("## Mean ± std") < md.index(said) < md.index("## Every run")  # under it
    assert "`knn_acc`: accuracy of a k-NN classifier" in said
    assert "`active_units`: code dimensions the model uses (0: collapsed" in said


def test_runs_too_short_to_mean_much_are_flagged(sweep, tmp_path):
    table, md = _write([sweep], tmp_path)  # one epoch of 240 images: 2 steps each
    ok = table[table.status == "ok"]
    assert all("few steps" in cell for cell in ok["flags"])
    for table in ("## Mean ± std over seeds", "## Every run"):  # a setting's, each run's
        assert "| flags |" in md.split(table)[1].splitlines()[2]
    assert "Flags: " in md and "*few steps*: fewer than 500 optimiser steps" in md
    csv = pd.read_csv(tmp_path / "comparison.csv")
    assert csv[csv.status == "ok"]["flags"].str.contains("few steps").all()


def test_compare_cli_merges_sweeps(sweep, tmp_path, capsys):
    other = tmp_path / "other"
    shutil.copytree(sweep / "0", other / "0")
    out = tmp_path / "merged"
    assert main([str(sweep), str(other), "--out", str(out), "--sort-by", "silhouette"]) == 0
    assert "# Comparison of 13 runs" in capsys.readouterr().out
    assert len(pd.read_csv(out / "comparison.csv")) == 13
    assert "Sorted by `silhouette`" in (out / "comparison.md").read_text()


@pytest.mark.parametrize("args, message", [
    (["/no/such/folder"], "no such folder"),
    (["{tmp}"], "no run folders"),
])
def test_compare_cli_errors_are_one_line(tmp_path, capsys, args, message):
    assert main([a.format(tmp=tmp_path) for a in args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1


def _mangle_record(run, change):
    record = json.loads((run / "metrics.json").read_text())
    (run / "metrics.json").write_text(json.dumps(change(record)))


MANGLED = {  # run folder -> what is done to it, and the reason its row must give
    "truncated": (lambda run: (run / "metrics.json").write_text('{"status": "ok", "metr'),
                  "unreadable metrics.json"),
    "a-folder": (lambda run: ((run / "metrics.json").unlink(),
                              (run / "metrics.json").mkdir()), "unreadable metrics.json"),
    "a-list": (lambda run: (run / "metrics.json").write_text("[1, 2]"),
               "a JSON list, not an object"),
    "metrics-list": (lambda run: _mangle_record(run, lambda r: {**r, "metrics": [0.5]}),
                     "'metrics' is a list"),
    "string-metric": (lambda run: _mangle_record(
        run, lambda r: {**r, "metrics": {**r["metrics"], "knn_acc": "0.9"}}),
        "metric 'knn_acc' is '0.9', not a number"),
    "odd-status": (lambda run: _mangle_record(run, lambda r: {**r, "status": "done"}),
                   "status 'done' is not one of"),
    "corrupt-config": (lambda run: ((run / ".hydra").mkdir(exist_ok=True),
                                    (run / ".hydra" / "config.yaml").write_text("model: [1,\n")),
                       "unreadable .hydra/config.yaml"),
    "bare-diverged": (lambda run: _mangle_record(run, lambda r: {"status": "diverged"}),
                      "diverged (its record lacks the details)"),
    "bare-interrupted": (lambda run: _mangle_record(run, lambda r: {"status": "interrupted"}),
                         ""),
    "multiline-error": (lambda run: _mangle_record(
        run, lambda r: {"status": "failed", "error": "ValueError: one\ntwo | three"}),
        "ValueError: one two | three"),
}


def test_every_malformed_record_is_a_row_with_its_reason(sweep, tmp_path):
    for name, (mangle, _) in MANGLED.items():
        shutil.copytree(sweep / "0", tmp_path / "runs" / name)
        mangle(tmp_path / "runs" / name)
    table, text = _write([tmp_path / "runs"], tmp_path / "out")
    rows = {Path(run).name: row for run, row in zip(table.run, table.itertuples())}
    assert set(rows) == set(MANGLED)
    for name, (_, why) in MANGLED.items():
        assert why in rows[name].reason, (name, rows[name].reason)
    assert (table.status != "ok").all()  # none is counted as a finished run
    assert rows["metrics-list"].status == "unreadable"
    assert rows["bare-diverged"].status == "diverged"
    assert "No run finished." in text
    failed = next(line for line in text.splitlines() if "one two" in line)
    assert "two \\| three" in failed and failed.count(" | ") == 2  # status, reason, folder


def test_out_naming_a_file_is_one_line(sweep, tmp_path, capsys):
    (tmp_path / "tables").write_text("not a folder")
    assert main([str(sweep), "--out", str(tmp_path / "tables")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --out") and "a file, not a folder" in err
    assert (tmp_path / "tables").read_text() == "not a folder"


def test_recorded_metrics_besides_the_scores_are_not_settings(tmp_path):
    """A neighbour term's last value (train_umap) differs per run: it is a metric column of
    comparison.csv, never a setting that splits the seeds' groups."""
    for seed in (0, 1):
        _train(tmp_path / "sweep" / str(seed), "model/embedding=umap", f"seed={seed}")
    table, varied = collect([tmp_path / "sweep"])
    assert varied == ["seed"] and table.attrs["extra"][-1] == "train_umap"
    _, md = _write([tmp_path / "sweep"], tmp_path / "out")
    summary = md.split("## Mean ± std over seeds")[1].strip().splitlines()
    assert summary[0].startswith("| seeds |") and summary[3] == ""  # one group: both seeds
    assert summary[2].startswith("| 2 |")
    csv = pd.read_csv(tmp_path / "out" / "comparison.csv")
    assert csv.train_umap.notna().all() and csv.train_umap.nunique() == 2


def test_the_report_is_one_self_contained_page_of_the_same_tables(sweep, tmp_path):
    table, md = _write([sweep], tmp_path)
    page = (tmp_path / "report.html").read_text()
    assert "http://" not in page and "https://" not in page  # nothing fetched: one file
    assert page.count('src="data:image/png;base64,') == 3  # pivot, metrics_vs_beta, embeddings
    ok = table[table.status == "ok"]
    assert page.count("<canvas ") == len(ok)  # each finished run's codes
    verdict = next(line for line in md.splitlines() if line.startswith("**Verdict.**"))
    assert verdict.split("(")[0].replace("**", "").replace("`", "") in \
        page.replace("<strong>", "").replace("</strong>", "").replace("<code>", "").replace(
            "</code>", "")
    assert page.count('<table class="sortable">') == md.count("\n|---|")  # one per table


@pytest.mark.slow  # 11 s on 2 cores: CI runs it with the slow tests
def test_the_report_renders_in_a_real_browser(sweep, tmp_path):
    from tests.browser import chromium, render

    if chromium() is None:
        pytest.skip("no Chromium here (Debian: apt-get install chromium)")
    table, _ = _write([sweep], tmp_path)
    shown = render(tmp_path / "report.html", screenshot=tmp_path / "report.png")
    ok = table[table.status == "ok"]
    assert shown == {"rows": str(len(ok) // 2), "figures": "3", "scatters": str(len(ok)),
                     "ready": "yes"}  # the first table: each setting's mean over 2 seeds
    assert (tmp_path / "report.png").stat().st_size > 20_000  # a page drawn, not a blank one
    # a click on a header sorts by it: descending, then ascending (missing values last)
    clicks = """<script>window.addEventListener("load", () => setTimeout(() => {
      const table = document.querySelector("table"), cells = [...table.tHead.rows[0].cells];
      const column = cells.findIndex(c => c.textContent.startsWith("silhouette"));
      const read = () => [...table.tBodies[0].rows].map(r => r.cells[column].textContent);
      cells[column].click(); const down = read(); cells[column].click();
      document.body.dataset.down = down.join(";"); document.body.dataset.up = read().join(";");
    }));</script></body>"""
    page = tmp_path / "report.html"
    page.write_text(page.read_text().replace("</body>", clicks))
    shown = render(page)
    down = [float(v.split(" ± ")[0]) for v in shown["down"].split(";")]
    up = [float(v.split(" ± ")[0]) for v in shown["up"].split(";")]
    assert down == sorted(down, reverse=True) and up == sorted(up) and len(up) == len(ok) // 2


def test_a_job_still_running_is_running_not_crashed_and_bad_out_folders_are_one_line(
        tmp_path, capsys):
    import os
    import subprocess

    sweep = tmp_path / "sweep"
    (sweep / "0" / ".hydra").mkdir(parents=True)  # a job begun, its record not yet written
    live = subprocess.Popen(["sleep", "60"])
    try:
        (sweep / ".lock").write_text(str(live.pid))  # the sweep's command, alive
        rows = collect([sweep])[0]
        assert rows.status.tolist() == ["running"]
        assert rows.reason.tolist() == [f"no metrics.json yet: its command (process {live.pid}) "
                                        "is running"]
    finally:
        live.kill()
        live.wait()
    rows = collect([sweep])[0]  # its command gone: it crashed or was killed
    assert rows.status.tolist() == ["failed"]
    assert rows.reason.tolist() == ["no metrics.json: the run crashed or was killed"]
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    for out, said in ((tmp_path / "dangling", f"{tmp_path / 'dangling'} is a link to "
                                              f"{tmp_path / 'nowhere'}, which does not exist"),
                      (Path("/proc/no-such-folder"), "cannot write there (")):
        assert main([str(sweep), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: --out {out}: {said}") and len(err.splitlines()) == 1
    assert os.path.lexists(tmp_path / "dangling") and not (tmp_path / "nowhere").exists()
