"""Failure behaviour through the real command line: bad input, interruption and resume,
tampered checkpoints, and embedding data of the wrong size. Nothing half-written is left."""

import json
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from experiments.train import train
from reducers.checkpoint import _digest, build_model, load_checkpoint
from reducers.errors import CheckpointError, ConfigError
from tests.conftest import ROOT, TINY, StopAfter, run_cli
from tests.data_files import SHARED_T10K

HYDRA_OWN = {".hydra", "train.log", "multirun.yaml"}  # what Hydra writes before the task

# (override(s), what the one-line message must contain: the key and the allowed values)
BAD_OVERRIDES = [
    ("model.beta=-1", "model.beta=-1.0 is invalid: must be a finite number >= 0"),
    ("model.beta=nan", "model.beta=nan is invalid: must be a finite number >= 0"),
    ("model.beta=abc", "model.beta=abc (Value 'abc' of type 'str' could not be converted"),
    ("model.betta=1", "Key 'betta' not in 'VAEConfig'"),
    ("model=transformer", "available: ae, pca, tsne, umap, vae"),
    ("model.recon=l1", "expected one of [mse, bce]"),
    ("model.kl_scaling=blog", "expected one of [standard, seed]"),
    ("model.activation=swish", "model.activation"),
    ("model.latent_dim=0", "model.latent_dim=0 is invalid: must be >= 1"),
    ("model.hidden=[512,0]", "model.hidden=[512, 0] is invalid: a list of layer sizes, each >= 1"),
    ("model.hidden=abc", "model.hidden"),
    ("model=tsne model.perplexity=0", "model.perplexity=0.0 is invalid: must be > 0"),
    ("optim.lr=0", "optim.lr=0.0 is invalid: must be > 0"),
    ("optim.lr=-0.1", "optim.lr=-0.1 is invalid: must be > 0"),
    ("optim.weight_decay=-1", "optim.weight_decay=-1.0 is invalid: must be >= 0"),
    ("optim=sgd optim.momentum=1.5", "optim.momentum=1.5 is invalid: must be in [0, 1)"),
    ("optim=rmsprop", "available: adam, sgd"),
    ("trainer.epochs=0", "trainer.epochs=0 is invalid: must be >= 1"),
    ("trainer.epochs=1.5", "trainer.epochs=1.5"),
    ("trainer.batch_size=0", "trainer.batch_size=0 is invalid: must be >= 1"),
    ("trainer.threads=0", "trainer.threads=0 is invalid: must be >= 1 or null"),
    ("trainer.backward=fast", "Invalid value 'fast', expected one of [manual, autograd]"),
    ("trainer.resume_from=x.pt", "trainer.resume_from='x.pt' is invalid: is only read with "
                                 "trainer.resume=true"),
    ("trainer.resume=true trainer.resume_from=missing.pt", "missing.pt: no such checkpoint"),
    ("data.test_fraction=1", "data.test_fraction=1.0 is invalid: must be in (0, 1)"),
    ("data.test_fraction=0", "data.test_fraction=0.0 is invalid: must be in (0, 1)"),
    ("data.limit=1", "data.limit=1 is invalid: must be >= 2 or null"),
    ("data.limit=5", "limit=5 is smaller than the number of classes"),
    ("data=idx", "data.path is required: add data.path=... to the command line"),
    ("data=idx data.path=no/such/folder", "no/such/folder"),
    ("data=cifar", "available: digits, fashion_mnist, idx, mnist, mnist5k, tsv"),
    ("score.knn_k=0", "score.knn_k=0 is invalid: must be >= 1"),
    ("score.max_pairwise=5", "score.max_pairwise=5 is invalid: must be >= 10"),
    ("compare.sort_by=speed", "compare.sort_by='speed' is invalid: one of knn_acc"),
    ("seed=abc", "seed=abc"),
    ("+experiment=nope", "available: seed_vae, seed_vae_fixed"),
    ("-m model.beta=abc,1", "model.beta=abc"),  # in a sweep too, before any job runs
]


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory):
    """Every bad command line, two at a time (each is a fresh Python: ~3 s)."""
    base = tmp_path_factory.mktemp("bad")

    def attempt(case):
        index, (override, _) = case
        folder = base / str(index)
        return folder, run_cli(*override.split(), f"hydra.run.dir={folder}",
                               f"hydra.sweep.dir={folder}")
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(attempt, enumerate(BAD_OVERRIDES)))


@pytest.mark.parametrize("index", range(len(BAD_OVERRIDES)),
                         ids=[o for o, _ in BAD_OVERRIDES])
def test_bad_override_is_one_line_exit_2_and_writes_nothing(bad_runs, index):
    folder, proc = bad_runs[index]
    message = BAD_OVERRIDES[index][1]
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("error: ")
    assert message in proc.stderr and "Traceback" not in proc.stderr
    written = {p.name for p in folder.iterdir()} if folder.exists() else set()
    assert written <= HYDRA_OWN, f"the failed run wrote {written - HYDRA_OWN}"


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "experiments.train", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for_epoch(path: Path, epoch: int, proc: subprocess.Popen, limit: float = 120) -> None:
    """Until the checkpoint at ``path`` has ``epoch`` epochs (the run is then mid-training)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the run ended before the signal:\n{proc.stdout.read()}"
        try:
            if path.exists() and load_checkpoint(path)["epoch"] >= epoch:
                return
        except CheckpointError:  # a reader never sees half a file; this is the rename race
            pass
        time.sleep(0.05)
    raise AssertionError(f"no checkpoint of epoch {epoch} in {limit} s")


# small but slow enough per epoch (100 steps) that the signal lands mid-training
RUN = ["trainer.epochs=12", "data.limit=2000", "model.hidden=[64]", "trainer.batch_size=16",
       "trainer.threads=1", "score.figures=false", "trainer.progress=false",
       "trainer.checkpoint_seconds=0"]  # on disk after every epoch: the test waits for it


@pytest.mark.slow
def test_sigterm_then_resume_ends_with_the_uninterrupted_weights(tmp_path, compose_cfg):
    run = tmp_path / "run"
    proc = start(*RUN, f"hydra.run.dir={run}")
    wait_for_epoch(run / "checkpoint.pt", 2, proc)
    proc.send_signal(signal.SIGTERM)
    output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 128 + signal.SIGTERM, output
    record = json.loads((run / "metrics.json").read_text())
    kept = record["interrupted"]["epochs_kept"]
    assert record["status"] == "interrupted" and record["interrupted"]["signal"] == "SIGTERM"
    assert 2 <= kept < 12 and record["epochs_completed"] == kept
    assert load_checkpoint(run / "checkpoint.pt")["epoch"] == kept
    assert len((run / "history.csv").read_text().splitlines()) == 1 + kept
    assert "trainer.resume=true" in output and "Traceback" not in output
    assert not list(run.glob(".*tmp*")), "a temp file of an atomic write was left"

    resumed = run_cli(*RUN, "trainer.resume=true", f"hydra.run.dir={run}")
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming from {run / 'checkpoint.pt'} after epoch {kept}" in resumed.stdout

    straight = train(compose_cfg(*RUN), tmp_path / "straight")  # the same, uninterrupted
    a, b = load_checkpoint(run), load_checkpoint(tmp_path / "straight")
    assert a["epoch"] == b["epoch"] == 12
    for name in b["model"]:
        assert torch.equal(a["model"][name], b["model"][name]), name
    after = json.loads((run / "metrics.json").read_text())
    timings = ("train_seconds", "samples_per_second")
    assert after["status"] == "ok"
    assert {k: v for k, v in after["metrics"].items() if k not in timings} == \
        {k: v for k, v in straight["metrics"].items() if k not in timings}


@pytest.mark.slow
def test_ctrl_c_stops_a_sweep_with_tables_and_the_sweep_resumes(tmp_path):
    sweep = tmp_path / "sweep"
    proc = start("-m", *RUN, "seed=1,2,3", f"hydra.sweep.dir={sweep}")
    wait_for_epoch(sweep / "0" / "checkpoint.pt", 1, proc)
    proc.send_signal(signal.SIGINT)
    output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 128 + signal.SIGINT, output
    statuses = [json.loads((sweep / str(i) / "metrics.json").read_text())["status"]
                for i in range(3)]
    assert statuses == ["interrupted"] * 3  # the first stopped, the others never started
    assert "interrupted" in (sweep / "comparison.md").read_text()

    resumed = run_cli("-m", *RUN, "seed=1,2,3", "trainer.resume=true",
                      f"hydra.sweep.dir={sweep}")
    assert resumed.returncode == 0, resumed.stderr
    records = [json.loads((sweep / str(i) / "metrics.json").read_text()) for i in range(3)]
    assert [r["status"] for r in records] == ["ok"] * 3
    assert [r["epochs_completed"] for r in records] == [12] * 3
    assert "resuming from" in resumed.stdout and "starting at epoch 1" in resumed.stdout


def test_a_stop_between_disk_writes_still_keeps_the_last_whole_epoch(compose_cfg, tmp_path):
    """Checkpoints go to disk at most every trainer.checkpoint_seconds; a stop writes the
    in-memory copy of the last whole epoch, and resuming from it is exact."""
    run = [*TINY, "trainer.epochs=5", "trainer.batch_size=50", "trainer.threads=1",
           "score.figures=false"]  # 16 steps per epoch
    stopped = train(compose_cfg(*run, "trainer.checkpoint_seconds=3600"), tmp_path / "run",
                    StopAfter(16 * 3 + 5))  # in the 4th epoch
    assert stopped["status"] == "interrupted" and stopped["interrupted"]["epochs_kept"] == 3
    assert load_checkpoint(tmp_path / "run")["epoch"] == 3
    resumed = train(compose_cfg(*run, "trainer.resume=true"), tmp_path / "run")
    straight = train(compose_cfg(*run), tmp_path / "straight")
    a, b = load_checkpoint(tmp_path / "run"), load_checkpoint(tmp_path / "straight")
    assert resumed["status"] == "ok" and a["epoch"] == b["epoch"] == 5
    for name in b["model"]:
        assert torch.equal(a["model"][name], b["model"][name]), name
    timings = ("train_seconds", "samples_per_second")
    assert {k: v for k, v in resumed["metrics"].items() if k not in timings} == \
        {k: v for k, v in straight["metrics"].items() if k not in timings}


def test_resume_refuses_other_settings_and_fewer_epochs(compose_cfg, tmp_path):
    done = train(compose_cfg(*TINY, "score.figures=false"), tmp_path / "done")
    again = train(compose_cfg(*TINY, "score.figures=false", "trainer.resume=true"),
                  tmp_path / "done")  # a finished run of a resumed sweep: no steps, same scores
    timings = ("train_seconds", "samples_per_second")
    assert again["epochs_completed"] == done["epochs_completed"]
    assert {k: v for k, v in again["metrics"].items() if k not in timings} == \
        {k: v for k, v in done["metrics"].items() if k not in timings}
    resume = ["trainer.resume=true", f"trainer.resume_from={tmp_path / 'done'}"]
    with pytest.raises(ConfigError, match=r"model.beta=1.0 there, 2.0 here"):
        train(compose_cfg(*TINY, *resume, "model.beta=2"), tmp_path / "other")
    with pytest.raises(ConfigError, match=r"trainer.epochs=1 is invalid: .* completed 2 epochs"):
        train(compose_cfg(*TINY, *resume, "trainer.epochs=1"), tmp_path / "other")
    longer = train(compose_cfg(*TINY, *resume, "trainer.epochs=3", "score.figures=false"),
                   tmp_path / "longer")  # more epochs, from another folder: allowed
    assert longer["status"] == "ok" and longer["epochs_completed"] == 3


def test_tampered_foreign_and_misfit_checkpoints_are_refused(compose_cfg, tmp_path):
    train(compose_cfg(*TINY, "score.figures=false"), tmp_path / "run")
    good = tmp_path / "run" / "checkpoint.pt"
    state = torch.load(good, weights_only=True)
    name = next(iter(state["model"]))

    edited = {**state, "model": {**state["model"], name: state["model"][name] + 1e-3}}
    torch.save(edited, tmp_path / "edited.pt")
    with pytest.raises(CheckpointError, match="do not match the digest"):
        load_checkpoint(tmp_path / "edited.pt")

    flipped = bytearray(good.read_bytes())  # one byte flipped in the middle of the weights
    flipped[len(flipped) // 2] ^= 0xFF
    (tmp_path / "flipped.pt").write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError, match="flipped.pt"):
        load_checkpoint(tmp_path / "flipped.pt")

    class Payload:  # what a malicious pickle would carry: weights_only refuses to build it
        def __reduce__(self):
            return (print, ("code ran",))
    torch.save({**state, "model": Payload()}, tmp_path / "pickle.pt")
    with pytest.raises(CheckpointError, match="not a loadable checkpoint"):
        load_checkpoint(tmp_path / "pickle.pt")

    foreign = {**state, "model_spec": {**state["model_spec"], "target": "os.system"}}
    foreign["digest"] = _digest(foreign)  # consistent, but names a foreign class
    torch.save(foreign, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="only classes of the reducers package"):
        build_model(load_checkpoint(tmp_path / "foreign.pt"))

    assert build_model(load_checkpoint(tmp_path / "run")).latent_dim == 2  # a folder works too


def test_embed_applies_a_model_to_other_data_and_checks_its_size(compose_cfg, tmp_path):
    train(compose_cfg(*TINY, "trainer.epochs=3", "score.figures=false"), tmp_path / "run")
    data = (["data=idx", f"data.path={SHARED_T10K}", "data.limit=2000"]
            if SHARED_T10K.exists() else ["data=mnist5k"])
    proc = run_cli(f"checkpoint={tmp_path / 'run'}", *data, f"hydra.run.dir={tmp_path / 'e'}",
                   module="experiments.embed")
    assert proc.returncode == 0, proc.stderr
    record = json.loads((tmp_path / "e" / "metrics.json").read_text())
    assert record["checkpoint_epoch"] == 3 and record["metrics"]["knn_acc"] > 0.2  # chance: 0.1
    assert (tmp_path / "e" / "codes.npz").exists() and (tmp_path / "e" / "scatter.png").exists()

    wrong = run_cli(f"checkpoint={tmp_path / 'run'}", "data=digits",
                    f"hydra.run.dir={tmp_path / 'w'}", module="experiments.embed")
    assert wrong.returncode == 2 and len(wrong.stderr.strip().splitlines()) == 1
    assert "digits has 64 pixels per image (8x8)" in wrong.stderr
    assert "trained on 784" in wrong.stderr
    assert {p.name for p in (tmp_path / "w").iterdir()} <= {".hydra", "embed.log"}
