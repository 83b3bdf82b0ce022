"""Placing new rows among the training codes (``model/place=neighbours``, reducers.placement):
on real digits, against training codes that keep the digits' neighbourhoods."""

import json

import numpy as np
import pytest
from sklearn.manifold import TSNE, trustworthiness
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

from experiments.embed import embed
from experiments.train import train
from reducers.checkpoint import build_model, load_checkpoint
from reducers.errors import DataError
from reducers.estimators import VAEReducer
from reducers.networks import MLP
from reducers.placement import Placement, unit_scale
from reducers.trainer_settings import TrainerSettings
from tests.helpers import run_cli, tsv_text


@pytest.fixture(scope="module")
def mapped(digits):
    """The training digits' t-SNE codes (800, 2): a map whose neighbourhoods are the digits'."""
    codes = TSNE(random_state=0, init="pca").fit_transform(digits.x_train)
    return digits, codes.astype(np.float32)


def accuracy(train_codes, y_train, codes, y) -> float:
    return KNeighborsClassifier(5).fit(train_codes, y_train).score(codes, y)


def test_new_rows_land_among_their_nearest_training_rows(mapped):
    digits, codes = mapped
    placer = Placement().fit(digits.x_train, codes)
    start = np.zeros((len(digits.x_test), 2), np.float32)  # no information at all
    placed = placer.place(digits.x_test, start)
    nearest = NearestNeighbors(n_neighbors=1).fit(digits.x_train).kneighbors(
        digits.x_test, return_distance=False)[:, 0]
    copied = codes[nearest]  # each new digit at its nearest training digit's code
    assert accuracy(codes, digits.y_train, placed, digits.y_test) >= \
        accuracy(codes, digits.y_train, copied, digits.y_test) > 0.75
    assert trustworthiness(digits.x_test, placed, n_neighbors=5) > \
        trustworthiness(digits.x_test, copied, n_neighbors=5) + 0.02
    copies = placer.place(digits.x_train[:50], start[:50])  # a training digit lands by its own
    nearest = np.linalg.norm(copies[:, None] - codes[None], axis=-1).argmin(1)
    assert (digits.y_train[nearest] == digits.y_train[:50]).mean() >= 0.9


def test_placing_improves_a_poor_start_and_keeps_a_good_one(mapped):
    digits, codes = mapped
    placer = Placement().fit(digits.x_train, codes)
    rng = np.random.default_rng(0)
    poor = rng.normal(size=(len(digits.x_test), 2)).astype(np.float32) * codes.std(0)
    before = trustworthiness(digits.x_test, poor, n_neighbors=5)
    after = trustworthiness(digits.x_test, placer.place(digits.x_test, poor), n_neighbors=5)
    assert before < 0.6 < 0.85 < after
    unmoved = Placement(epochs=0).fit(digits.x_train, codes).place(digits.x_test, poor)
    np.testing.assert_allclose(unmoved, poor, rtol=1e-5, atol=1e-5)


def test_the_placement_does_not_depend_on_the_codes_units(mapped):
    digits, codes = mapped
    start = np.zeros((100, 2), np.float32)
    one = Placement().fit(digits.x_train, codes).place(digits.x_test[:100], start, seed=3)
    hundred = Placement().fit(digits.x_train, 100 * codes).place(digits.x_test[:100], start,
                                                                 seed=3)
    np.testing.assert_allclose(hundred, 100 * one, rtol=1e-3, atol=1e-3 * np.abs(hundred).max())
    scale = unit_scale(codes, 15, 2.0)
    distances = np.linalg.norm(scale * codes[:, None] - scale * codes[None], axis=-1)
    assert np.median(np.sort(distances, 1)[:, 15]) == pytest.approx(2.0, rel=1e-4)


def test_the_library_refuses_bad_placement_settings():
    with pytest.raises(ValueError, match="^n_neighbors=1 is invalid: must be >= 2"):
        Placement(n_neighbors=1)
    with pytest.raises(ValueError, match="^spread=0 is invalid"):
        Placement(spread=0)


def test_the_command_line_refuses_a_bad_placement_setting():
    out = run_cli("model/place=neighbours", "model.place.epochs=-1", "trainer.epochs=1")
    assert out.returncode != 0
    assert "model.place.epochs=-1 is invalid: must be >= 0" in out.stderr
    baseline = run_cli("model=pca", "model/place=neighbours")
    assert baseline.returncode != 0
    assert "model/place picks a part of a network: it applies to model=ae and model=vae" in \
        baseline.stderr


def test_a_run_places_its_test_and_heldout_rows_and_its_checkpoint_keeps_how(
        compose_train, compose_embed, tmp_path, digits):
    settings = ["data.limit=1000", "trainer.epochs=2", "model.net.hidden=[64]",
                "score.figures=false", "model/place=neighbours", "model.place.epochs=20"]
    record = train(compose_train(*settings), tmp_path / "run")
    codes = np.load(tmp_path / "run" / "codes.npz")
    state = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    model = build_model(state)
    assert model.settings.place == Placement(epochs=20)
    network = model.encode(__import__("torch").from_numpy(digits.x_test)).detach().numpy()
    assert not np.allclose(codes["test"], network, atol=1e-3)  # moved
    placed = model.settings.place.fit(digits.x_train, codes["train"]).place(
        digits.x_test, network, seed=0)
    np.testing.assert_allclose(codes["test"], placed, atol=1e-4)  # moved as the library moves
    assert record.metrics["knn_acc"] == pytest.approx(
        accuracy(codes["train"], digits.y_train, codes["test"], digits.y_test))
    assert record.timings["placement_seconds"] > 0
    assert record.label == "VAE [64]->2 bce beta=1, placed"
    embedded = embed(compose_embed(f"checkpoint={tmp_path / 'run'}", "data.limit=1000"),
                     tmp_path / "embed")
    again = np.load(tmp_path / "embed" / "codes.npz")
    np.testing.assert_allclose(again["test"], codes["test"], atol=1e-3)
    assert json.loads((tmp_path / "embed" / "metrics.json").read_text())["status"] == "ok"
    assert embedded.metrics["knn_acc"] == pytest.approx(record.metrics["knn_acc"], abs=0.01)


def test_the_estimators_place_new_rows_and_say_when_a_checkpoint_cannot(digits, tmp_path,
                                                                         compose_train):
    quick = {"net": MLP(hidden=[32]), "trainer": TrainerSettings(epochs=2, batch_size=64)}
    plain = VAEReducer(**quick).fit(digits.x_train)
    placing = VAEReducer(**quick, place=Placement(epochs=20)).fit(digits.x_train)
    np.testing.assert_array_equal(placing.embedding_, plain.embedding_)  # the same network
    network, placed = plain.transform(digits.x_test), placing.transform(digits.x_test)
    assert trustworthiness(digits.x_test, placed, n_neighbors=5) > \
        trustworthiness(digits.x_test, network, n_neighbors=5)
    assert placing.get_params()["place__epochs"] == 20
    train(compose_train("data.limit=1000", "trainer.epochs=1", "model.net.hidden=[16]",
                        "score.figures=false", "model/place=neighbours"), tmp_path / "run")
    with pytest.warns(UserWarning, match="encodes with the network alone"):
        loaded = VAEReducer.from_checkpoint(tmp_path / "run")
    assert loaded.place is None and loaded.transform(digits.x_test[:5]).shape == (5, 2)


def test_embed_says_when_a_placing_models_training_rows_are_gone(digits, tmp_path,
                                                                  compose_train, compose_embed):
    rows = tmp_path / "digits.tsv"
    rows.write_text(tsv_text((digits.x_train[:300] * 255).astype(int), digits.y_train[:300]))
    train(compose_train("data=tsv", f"data.path={rows}", "trainer.epochs=1",
                        "model.net.hidden=[16]", "score.figures=false", "model/place=neighbours"),
          tmp_path / "run")
    rows.unlink()
    with pytest.raises(DataError, match="places new rows among its training rows .model.place., "
                                        "which could not be loaded again"):
        embed(compose_embed(f"checkpoint={tmp_path / 'run'}", "data.limit=1000"),
              tmp_path / "embed")
    assert not (tmp_path / "embed").exists()
