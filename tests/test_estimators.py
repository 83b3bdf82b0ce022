"""The reducers as scikit-learn estimators (reducers/estimators): scikit-learn's own checks,
pipelines, searches, persistence, and the same codes as the command line."""

import pickle

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from reducers.estimators import AutoencoderReducer, VAEReducer
from reducers.networks import MLP
from reducers.trainer_settings import TrainerSettings

QUICK = {"net": MLP(hidden=[8]), "trainer": TrainerSettings(epochs=2, batch_size=16)}
EXPECTED_FAILURES = {}


def expected_failures(estimator) -> dict[str, str]:
    return EXPECTED_FAILURES


@parametrize_with_checks([AutoencoderReducer(**QUICK), VAEReducer(**QUICK)],
                         expected_failed_checks=expected_failures)
def test_scikit_learns_own_checks(estimator, check):
    check(estimator)


@pytest.mark.slow  # 15 s on 2 cores: CI runs it with the slow tests
def test_a_pipeline_a_grid_search_clone_and_pickle_on_the_wine_data(tmp_path):
    import joblib
    from sklearn.base import clone
    from sklearn.datasets import load_wine
    from sklearn.model_selection import GridSearchCV
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    x, y = load_wine(return_X_y=True)
    pipe = make_pipeline(MinMaxScaler(), VAEReducer(scale="none", **QUICK),
                         KNeighborsClassifier())
    assert 0 <= pipe.fit(x, y).score(x, y) <= 1
    search = GridSearchCV(pipe, {"vaereducer__kl__beta": [0.5, 2.0],
                                 "vaereducer__recon": ["bce", "mse"]}, cv=2, n_jobs=2,
                          error_score="raise").fit(x, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_estimator_[1].kl.beta in (0.5, 2.0)
    fitted = VAEReducer(**QUICK).fit(x)
    twin = clone(fitted)
    assert twin.get_params() == fitted.get_params() and not hasattr(twin, "model_")
    np.testing.assert_array_equal(twin.fit(x).transform(x), fitted.transform(x))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(fitted)).transform(x),
                                  fitted.transform(x))
    joblib.dump(fitted, tmp_path / "vae.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "vae.joblib").transform(x),
                                  fitted.transform(x))


def test_nested_parts_are_parameters_and_none_stands_for_their_defaults():
    from reducers.embedding_terms import TSNETerm
    from reducers.losses import KLWeighting

    vae = VAEReducer()
    params = vae.get_params()
    assert params["kl__beta"] == KLWeighting().beta and params["net__hidden"] == [512, 256]
    assert params["trainer__epochs"] == TrainerSettings().epochs
    assert params["optimizer__name"] == "adam" and "embedding__weight" not in params
    given = KLWeighting(beta=2)
    other = VAEReducer(kl=given).set_params(kl__beta=8, net__hidden=[16])
    assert given.beta == 2 and other.kl.beta == 8 and other.net.hidden == [16]
    with_term = VAEReducer(embedding=TSNETerm(weight=10, batch=32), **QUICK).set_params(
        embedding__perplexity=5)
    assert with_term.get_params()["embedding__perplexity"] == 5
    with_term.fit(np.random.default_rng(0).random((80, 6)))
    assert "train_tsne" in with_term.history_[-1]  # the term was in the loss
    with pytest.raises(ValueError, match="kl__bta"):
        vae.set_params(kl__bta=1)
    with pytest.raises(ValueError, match="embedding is None"):
        vae.set_params(embedding__weight=1)


def test_inputs_as_users_have_them(rng=np.random.default_rng(0)):
    import pandas as pd
    from sklearn.exceptions import NotFittedError

    from reducers.networks import Conv

    images = rng.integers(0, 256, size=(60, 8, 8), dtype=np.uint8)
    conv = VAEReducer(net=Conv(channels=[4], hidden=[8]), trainer=QUICK["trainer"])
    codes = conv.fit_transform(images)
    assert codes.shape == (60, 2) and conv.image_shape_ == (8, 8)
    assert conv.inverse_transform(codes[:3]).shape == (3, 8, 8) and conv.sample(4).shape == \
        (4, 8, 8)
    as_floats = VAEReducer(net=Conv(channels=[4], hidden=[8]), trainer=QUICK["trainer"],
                           scale="none").fit_transform(images / 255.0)
    np.testing.assert_array_equal(codes, as_floats)  # uint8 pixels scaled as the loaders do
    frame = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
    ae = AutoencoderReducer(**QUICK).fit(frame)
    assert list(ae.feature_names_in_) == ["a", "b", "c"]
    assert list(ae.get_feature_names_out()) == ["autoencoderreducer0", "autoencoderreducer1"]
    with pytest.raises(ValueError, match="NaN"):
        AutoencoderReducer(**QUICK).fit(np.where(frame.values > 1, np.nan, frame.values))
    with pytest.raises(ValueError, match="3 features"), pytest.warns(UserWarning, match="names"):
        ae.transform(np.ones((2, 4)))
    with pytest.raises(NotFittedError):
        VAEReducer().transform(frame)
    with pytest.raises(ValueError, match="needs images"):
        VAEReducer(net=Conv()).fit(frame)
    with pytest.raises(TypeError, match="net must be MLP"):
        VAEReducer(net="mlp").fit(frame)
    with pytest.raises(ValueError, match="beyond float32"):
        AutoencoderReducer(scale="none", **QUICK).fit(frame * 1e300)


CLI_SETTINGS = ["trainer.epochs=6", "data.limit=1000", "model.net.hidden=[64]", "seed=3",
                "model.kl.beta=2", "model.recon=mse", "trainer.progress=false",
                "score.figures=false"]


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    import torch

    from tests.helpers import trained_run

    return trained_run(tmp_path_factory, "cli", *CLI_SETTINGS,
                       f"trainer.threads={torch.get_num_threads()}")


def test_the_estimator_and_the_command_line_give_bit_identical_codes(cli_run):
    from reducers.data import load_mnist5k
    from reducers.losses import KLWeighting

    split = load_mnist5k(limit=1000)  # the command line's default data, as it reads them
    vae = VAEReducer(recon="mse", net=MLP(hidden=[64]), kl=KLWeighting(beta=2),
                     trainer=TrainerSettings(epochs=6), scale="none", random_state=3)
    codes = np.load(cli_run / "codes.npz")
    np.testing.assert_array_equal(vae.fit_transform(split.x_train), codes["train"])
    np.testing.assert_array_equal(vae.transform(split.x_test), codes["test"])


def test_the_command_lines_checkpoint_loads_into_an_estimator(cli_run):
    from reducers.data import load_mnist5k

    split = load_mnist5k(limit=1000)
    vae = VAEReducer.from_checkpoint(cli_run / "checkpoint.pt")
    assert vae.kl.beta == 2 and vae.recon == "mse" and vae.net.hidden == [64]
    assert vae.n_iter_ == 6
    pixels = np.rint(split.x_test * 255).astype(np.uint8)  # as a user has them: 0-255
    np.testing.assert_array_equal(vae.transform(pixels), np.load(cli_run / "codes.npz")["test"])
    with pytest.raises(ValueError, match="holds a VAE"):
        AutoencoderReducer.from_checkpoint(cli_run / "checkpoint.pt")


def test_any_embedding_is_scored_as_the_tables_score_it():
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.model_selection import GridSearchCV, train_test_split

    from reducers.estimators import (heldout_knn_scorer, score_embedding,
                                     trustworthiness_scorer)
    from reducers.scoring import score_codes

    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x / 16, y, test_size=0.3,
                                                        random_state=0, stratify=y)
    pca = PCA(2).fit(x_train)
    held_out = score_embedding(x_test, pca.transform(x_test), y_test,
                               train_codes=pca.transform(x_train), train_labels=y_train)
    expected, sizes, _ = score_codes(pca.transform(x_train), y_train, pca.transform(x_test),
                                     y_test, x_test)
    assert held_out.metrics == pytest.approx(expected) and held_out.sizes == sizes
    assert held_out.knn_protocol == "held-out" and 0.4 < held_out["knn_acc"] < 0.8
    whole = score_embedding(x, PCA(2).fit_transform(x), y)
    assert whole.knn_protocol == "5-fold" and 0.4 < whole["knn_acc"] < 0.8
    unlabelled = score_embedding(x, PCA(2).fit_transform(x))
    assert unlabelled.knn_protocol is None and "knn_acc" not in unlabelled.metrics
    assert 0.5 < unlabelled["trustworthiness"] <= 1
    with pytest.raises(ValueError, match="one row per row"):
        score_embedding(x, PCA(2).fit_transform(x)[:10])
    for scorer in (heldout_knn_scorer(), trustworthiness_scorer()):
        search = GridSearchCV(AutoencoderReducer(**QUICK), {"recon": ["bce", "mse"]}, cv=2,
                              scoring=scorer, error_score="raise").fit(x_train, y_train)
        assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_the_optimizer_parts_defaults_are_the_command_lines():
    from omegaconf import OmegaConf

    from experiments.config_groups import CONF_DIR
    from reducers.optimizers import DEFAULT_LR, Optimizer, OptimizerName

    for name in OptimizerName:
        conf = OmegaConf.load(CONF_DIR / "optim" / f"{name.value}.yaml")
        part = Optimizer(name=name)
        assert DEFAULT_LR[name] == conf.lr and part.weight_decay == conf.weight_decay
        assert part.fused == conf.fused and part.momentum == conf.get("momentum", 0.0)
    with pytest.raises(ValueError, match="momentum"):
        Optimizer(momentum=0.9)  # Adam's has none


def test_a_validation_set_and_early_stopping_as_the_command_line_carves_them(tmp_path):
    import torch

    from reducers.data import load_mnist5k
    from tests.helpers import run_cli

    run = tmp_path / "run"
    done = run_cli("model=ae", "trainer.epochs=6", "data.limit=600", "model.net.hidden=[32]",
                   "trainer.val_fraction=0.2", "trainer.early_stopping=2",
                   "trainer.restore_best=true", "trainer.progress=false", "score.figures=false",
                   f"trainer.threads={torch.get_num_threads()}", f"hydra.run.dir={run}")
    assert done.returncode == 0, done.stderr
    split = load_mnist5k(limit=600)
    ae = AutoencoderReducer(net=MLP(hidden=[32]), val_fraction=0.2, scale="none",
                            trainer=TrainerSettings(epochs=6, early_stopping=2,
                                                    restore_best=True))
    ae.fit(split.x_train, split.y_train)
    assert "val_loss" in ae.history_[-1]
    np.testing.assert_array_equal(ae.transform(split.x_test), np.load(run / "codes.npz")["test"])
    with pytest.raises(ValueError, match="trainer__early_stopping needs a validation set"):
        AutoencoderReducer(trainer=TrainerSettings(early_stopping=2)).fit(split.x_test)
