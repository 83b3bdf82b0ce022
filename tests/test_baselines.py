"""PCA, t-SNE and UMAP through the same entry point, scoring and tables as the networks."""

import json
import sys

import numpy as np
import pytest

from experiments.compare import write_tables
from experiments.train import train
from reducers.baselines import PCA, UMAP
from reducers.errors import ConfigError, ReducerError
from tests.helpers import composer, run_cli

QUICK = ["trainer.progress=false"]


@pytest.fixture(scope="module")
def digits_runs(tmp_path_factory):
    """PCA and t-SNE on scikit-learn's real 8x8 digits, through train()."""
    root = tmp_path_factory.mktemp("baselines")
    records = {model: train(composer("train")(f"model={model}", "data=digits", *QUICK, *extra),
                            root / model)
               for model, extra in (("pca", []), ("tsne", ["model.max_iter=300"]))}
    return root, records


def test_pca_runs_end_to_end_well_above_chance(digits_runs):
    root, records = digits_runs
    pca = records["pca"]
    assert pca.status == "ok" and pca.embedding_protocol == "inductive"
    assert pca.metrics["knn_acc"] > 0.4  # chance is 0.1
    assert (root / "pca" / "scatter.png").exists() and (root / "pca" / "codes.npz").exists()
    for decoder_figure in ("reconstructions.png", "manifold.png", "samples.png",
                           "loss_curves.png", "checkpoint.pt"):
        assert not (root / "pca" / decoder_figure).exists()
    assert json.loads((root / "pca" / "metrics.json").read_text())["kl_weight_effective"] is None


def test_tsne_beats_pca_on_digits_and_says_how_it_embedded_the_test_split(digits_runs):
    root, records = digits_runs
    tsne, pca = records["tsne"], records["pca"]
    assert tsne.metrics["knn_acc"] > pca.metrics["knn_acc"] + 0.2
    assert tsne.embedding_protocol == "transductive"
    saved = json.loads((root / "tsne" / "metrics.json").read_text())
    assert saved["embedding_protocol"] == "transductive"


def test_baselines_sit_in_the_same_table_with_the_protocol_noted(digits_runs, tmp_path):
    root, _ = digits_runs
    table = write_tables([root], tmp_path)
    md = (tmp_path / "comparison.md").read_text()
    assert set(table.model) == {"pca", "tsne"} and set(table.status) == {"ok"}
    assert "| embedding_protocol |" in md and "Embedding protocol `transductive`" in md
    assert (tmp_path / "embeddings.png").exists()


def test_pca_is_fitted_on_train_only():
    rng = np.random.default_rng(0)
    x_train = rng.normal(size=(200, 5)) * [10, 1, 1, 1, 1]
    x_test = rng.normal(size=(50, 5)) * [1, 1, 1, 1, 30]  # its big axis must not matter
    train_codes, test_codes = PCA(input_dim=5).embed(x_train, x_test)
    assert abs(train_codes[:, 0]).std() > 5  # the first component is the train's big axis
    assert test_codes.shape == (50, 2)


def test_wrong_dimensionality_is_refused():
    with pytest.raises(ReducerError, match="built for 64 features, the data has 784"):
        PCA(input_dim=64).embed(np.zeros((10, 784)), np.zeros((5, 784)))


def test_umap_without_the_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)  # as if umap-learn were not installed
    with pytest.raises(ConfigError, match=r"pip install .*\.\[umap\]"):
        UMAP(input_dim=784)


@pytest.mark.slow
def test_stored_reducers_sweep_puts_every_reducer_in_one_table(tmp_path):
    """The one test that runs UMAP (when installed): compiling it takes most of a minute."""
    proc = run_cli("sweep=reducers", "model.kl.beta=1", "seed=0", "data=digits", "trainer.epochs=2",
                   "score.figures=false", *QUICK, f"hydra.sweep.dir={tmp_path}")
    assert proc.returncode == 0, proc.stderr
    md = (tmp_path / "comparison.md").read_text()
    for model in ("vae", "ae", "pca", "tsne"):
        assert f"| {model} |" in md
    try:
        import umap  # noqa: F401
        assert "| umap |" in md.split("## Runs that did not finish")[0]
    except ImportError:
        assert "pip install" in md.split("## Runs that did not finish")[1]
