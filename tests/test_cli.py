"""The command line (experiments/cli.py): one line and exit code 2 for bad input, the same line
the in-process check gives (tests/test_schemas.py checks the many cases there), hints for the
spellings of earlier versions, the help pages, and tab completion of the console scripts."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.config_groups import group_options
from experiments.hints import null_group_hint, renamed_hint, unpicked_part_line
from tests.helpers import run_cli
from tests.test_schemas import message

HYDRA_OWN = {".hydra", "train.log", "anomaly.log", "embed.log", "multirun.yaml"}
# (module, arguments): a composition error, a range error, a data error found while loading,
# a protocol error of the anomaly app, a checkpoint error of embed, a bad value in a sweep
BAD = [("experiments.train", "model=transformer"),
       ("experiments.train", "model.kl.beta=-1"),
       ("experiments.train", "data=idx data.path=no/such/folder"),
       ("experiments.anomaly", "anomaly.normal_class=11"),
       ("experiments.embed", "checkpoint=no/such/run"),
       ("experiments.train", "-m model.kl.beta=abc,1"),
       ("experiments.train", "+experiment=seed_vae")]
HELP = [("experiments.train", "--help")]  # the other pages: tests/test_schemas.py, in-process


def attempt(module: str, args: str, folder):
    """One command as a user types it (a fresh Python: ~3 s), its folders in ``folder``."""
    return run_cli(*args.split(), f"hydra.run.dir={folder}", f"hydra.sweep.dir={folder}",
                   module=module)


@pytest.mark.parametrize("index", range(len(BAD)), ids=[f"{m} {a}" for m, a in BAD])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(index, tmp_path):
    folder = tmp_path / "cli"  # message() below refuses the same input in tmp_path / "run"
    proc = attempt(*BAD[index], folder)
    module, args = BAD[index]
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("error: ")
    assert "Traceback" not in proc.stderr + proc.stdout
    written = {p.name for p in folder.iterdir()} if folder.exists() else set()
    assert written <= HYDRA_OWN, f"the refused run wrote {written - HYDRA_OWN}"
    if "-m" not in args and "+" not in args:  # what the in-process check says, word for word
        app = module.rsplit(".", 1)[1]
        assert proc.stderr.strip() == message(app, *args.split(), tmp_path=tmp_path)


def test_the_help_page_as_hydra_renders_it(tmp_path):
    proc = attempt(*HELP[0], tmp_path / "cli")
    assert proc.returncode == 0
    for line in ("model: ae, pca, tsne, umap, vae", "optim: adam, sgd",
                 "data: digits, fashion_mnist, idx, mnist, mnist5k, table, tsv",
                 "experiment: blog_vae, blog_vae_fixed, faithful_vae, quality_ae, quality_vae, "
                 "visual_umap, visual_vae",
                 "sweep: beta_loss, blog, embedding, frontier, quality, reducers",
                 "hparams_search: vae_optuna, vae_pareto (default: none)",
                 "tracking: mlflow, none, tensorboard (default: none)",
                 'eval "$(reducer-train -sc install=bash)"', "_target_: reducers.vae.VAE"):
        assert line in proc.stdout
    assert "detector" not in proc.stdout and "schema" not in proc.stdout


@pytest.mark.parametrize("argv, hint", [
    (["+experiment=seed_vae"], "write experiment=blog_vae"),
    (["+experiment=blog_vae"], "write experiment=blog_vae"),
    (["experiment=seed_vae_fixed"], "write experiment=blog_vae_fixed"),
    (["+sweep=beta_loss"], "write sweep=beta_loss"),
    (["+sweep=anomaly"], "write sweep=anomaly/one_class"),
    (["sweep=anomaly_loo"], "write sweep=anomaly/leave_one_out"),
    (["trainer.epochs=3", "model.kl_scaling=seed"], "write model.kl.scaling=blog"),
    (["-m", "model.beta=0.5,1"], "write model.kl.beta=0.5,1"),
    (["model.kl_scaling=blog"], "write model.kl.scaling=blog"),
    (["model.hidden=[400]"], "write model.net.hidden=[400]"),
    (["model.net=conv"], "write model/net=conv"),
    (["model.embedding_loss=tsne"], "write model/embedding=tsne"),
    (["model.embedding_weight=300"], "write model.embedding.weight=300 (after "
                                     "model/embedding=tsne or umap)"),
    (["model/embedding=umap", "model.n_neighbors=5"], "write model.embedding.n_neighbors=5"),
    (["detector.beta=2"], "write detector.kl.beta=2"),
    (["detector.net=conv"], "write detector/net=conv"),
    (["anomaly.held_out_fraction=0.2"], "write trainer.val_fraction=0.2"),
    (["test_data=mnist_t10k", "test_data.limit=300"], "write heldout=mnist_t10k"),
])
def test_earlier_spellings_get_a_one_line_fix(argv, hint):
    assert hint in renamed_hint(argv)


def test_a_group_set_to_null_is_one_line_naming_its_options():
    proc = run_cli("heldout=null", "trainer.epochs=1")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == ("error: 'heldout=null': heldout is a group of options "
                                   "(digits, fashion_mnist, idx, mnist, mnist5k, mnist_t10k, "
                                   "table, tsv): name one, or leave the argument out for the "
                                   "default")
    assert null_group_hint(["model=null"]).endswith("(ae, pca, tsne, umap, vae): name one, or "
                                                    "leave the argument out for the default")
    assert null_group_hint(["model.net.hidden=null", "heldout=mnist_t10k"]) is None


def test_a_setting_of_a_part_no_option_picked_is_one_line():
    proc = run_cli("trainer.epochs=1", "model.net.hidden=[16]", "model.embedding.weight=3")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == ("error: 'model.embedding.weight=3' sets a setting of "
                                   "model.embedding, but none is picked: add "
                                   "model/embedding=... (tsne, umap)")
    assert unpicked_part_line(["model/embedding=tsne", "model.embedding.weight=3"]) \
        .startswith("a setting is given for a part that none of the options picked")
    assert renamed_hint(["model.net=cnn"]) == \
        "'model.net=cnn' is an earlier spelling: write model/net=... (conv, mlp)"


def test_current_spellings_pass_and_options_are_listed_from_the_folders():
    assert renamed_hint(["experiment=blog_vae", "sweep=beta_loss", "model.kl.scaling=blog",
                         "+model.extra=1", "seed=3", "model=tsne", "model.perplexity=5",
                         "model/net=conv", "model.net.hidden=[32]"]) is None
    assert group_options("optim") == "adam, sgd"
    assert group_options("sweep/anomaly") == ("anomaly/leave_one_out, anomaly/leave_one_out_t10k, "
                                              "anomaly/one_class, anomaly/one_class_t10k")


@pytest.mark.parametrize("script, line, expected", [
    ("reducer-train", "reducer-train tracking=",
     "tracking=mlflow tracking=none tracking=tensorboard"),
    ("reducer-train", "reducer-train hparams", "hparams_search="),
    ("reducer-train", "reducer-train model.kl.b", "model.kl.beta="),
    ("reducer-train", "reducer-train model/n", "model/net="),
    ("reducer-anomaly", "reducer-anomaly detector=", "detector=ae detector=chain detector=vae"),
])
def test_tab_completion_of_the_console_scripts(script, line, expected):
    """What bash's completion function (``eval "$(reducer-train -sc install=bash)"``) asks."""
    path = Path(sys.executable).parent / script
    if not path.exists():
        pytest.skip(f"{script} is not installed beside {sys.executable}")
    proc = subprocess.run([str(path), "-sc", "query=bash"], capture_output=True, text=True,
                          env={**os.environ, "COMP_LINE": line}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == expected


@pytest.mark.slow  # end to end, tens of seconds: CI runs it with the slow tests
def test_the_environment_a_command_runs_in(tmp_path):
    """Help piped into a reader that stops early, bad input with stderr closed, and a run in
    the C locale (UTF-8 mode off) writing a folder named with a non-ASCII letter."""
    from tests.helpers import ROOT

    piped = subprocess.run(f"{sys.executable} -m experiments.train --help | head -1",
                           shell=True, cwd=ROOT, capture_output=True, text=True, timeout=120,
                           executable="/bin/bash")
    assert piped.stdout.startswith("experiments.train: ") and piped.stderr == ""
    closed = subprocess.run(f"{sys.executable} -m experiments.train model=nope 2>&-",
                            shell=True, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert closed.returncode == 2
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0"}
    env.pop("PYTHONIOENCODING", None)
    run_dir = tmp_path / "é"
    c_locale = subprocess.run([sys.executable, "-m", "experiments.train", "trainer.epochs=1",
                               "data.limit=300", "model.net.hidden=[16]", "score.figures=false",
                               "trainer.progress=false", f"hydra.run.dir='{run_dir}'"],
                              cwd=ROOT, capture_output=True, env=env, timeout=300)
    assert c_locale.returncode == 0 and b"Logging error" not in c_locale.stderr, c_locale.stderr
    assert (run_dir / "metrics.json").exists() and str(run_dir) in \
        (run_dir / "train.log").read_text(encoding="utf-8")
