"""The benchmark script (experiments/benchmark.py) runs end to end at toy sizes and writes its
report where it is told to; its figures are measured by running it, not here."""

import json

import numpy as np
import pytest

from experiments.benchmark import main


@pytest.mark.slow  # end to end, tens of seconds: CI runs it with the slow tests
def test_benchmark_script_writes_every_figure(tmp_path, capsys):
    assert main(["--tiny", "--blog-epochs", "1", "--threads", "1", "--out", str(tmp_path)]) == 0
    report = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert report["tiny"] and report["roofline_flops"] > 1e8
    engine = report["engine"]
    assert engine["samples_per_second"] > 0 and engine["autograd_samples_per_second"] > 0
    assert 0 < engine["fraction_of_roofline"] < engine["matmul_ceiling_fraction"] * 2
    blog = report["blog_config"]
    assert blog["speedup"] > 0 and blog["blog_loop_seconds_per_epoch"] > 0
    assert report["scoring"][0]["n"] == 1_000 and report["scoring"][0]["total"] > 0
    table = report["table_load"]
    assert (table["rows"], table["columns"]) == (2_000, 50) and table["seconds"] > 0
    assert 0.05 < table["peak_memory_gib"] < 4 and (tmp_path / "table-2000x50.csv").exists()
    assert report["peak_memory_gib"] > 0.1  # of a real (tiny) run of experiments.train
    assert (tmp_path / "peak-memory-run" / "metrics.json").exists()
    run = report["run"]  # the breakdown of a real (tiny) run: its parts add up to its wall time
    assert sum(run["parts"].values()) == pytest.approx(run["wall_seconds"], rel=0.05)
    assert run["parts"]["training steps"] > 0 and run["parts"]["imports"] > 0.3
    assert run["wall_over_training_steps"] > 1
    peers = report["peers"]  # every peer trained, in both denormal modes
    assert set(peers["seconds"]) == {"flushed", "default"}
    assert all(v > 0 for row in peers["seconds"].values() for v in row.values())
    assert {"textbook_as_shipped", "textbook_flushed"} <= set(peers["speedup"])
    for conv in report["conv"].values():  # the conv VAE in both memory formats
        assert conv["samples_per_second"] > 0 and 0 < conv["fraction_of_conv_ceiling"] < 1.5
    out = capsys.readouterr().out
    assert "roofline" in out and "blog loop" in out and str(tmp_path) in out


@pytest.mark.slow  # nine child runs, about 45 s
def test_the_scale_section_measures_every_part_of_every_run(tmp_path, capsys):
    from experiments.benchmark_scale import main as scale_main

    assert scale_main(["--tiny", "--out", str(tmp_path)]) == 0
    report = json.loads(next(tmp_path.glob("scale-*.json")).read_text())
    runs = [r for part in report["images"].values() for r in part["runs"]]
    runs += list(report["table"].values())
    assert len(runs) == 9 and {r["rows"] for r in runs} == {1_000, 3_000}
    for r in runs:  # real runs: their parts add up to the wall time, training among them
        assert sum(r["parts"].values()) == pytest.approx(r["wall_seconds"], rel=1e-6)
        assert r["parts"]["training steps"] > 0 and r["samples_per_second"] > 0
        assert 0 < r["outside_training_share"] < 1 and r["peak_memory_gib"] > 0.1
    visual = report["images"]["visual"]["runs"]
    assert all(r["parts"]["neighbour graph"] > 0 for r in visual)
    assert "1000->3000" in report["images"]["vae"]["growth"]
    assert np.load(tmp_path / "scale-data" / "images-3000.npy", mmap_mode="r").dtype == np.uint8
    assert "samples/s" in capsys.readouterr().out
