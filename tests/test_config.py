"""Every config option composes, validates and builds; bad settings fail before any work."""

import pytest
import torch
from hydra.errors import ConfigCompositionException
from omegaconf.errors import OmegaConfBaseException

from experiments.schema import validate
from experiments.train import build
from reducers.baselines import Baseline
from reducers.errors import ConfigError
from tests.conftest import CONF, run_cli

OPTIONS = [(group, path.stem) for group in ("model", "data", "optim", "trainer", "score")
           for path in sorted((CONF / group).glob("*.yaml"))]


REQUIRED = {"data=idx": ["data.path=some/folder"], "data=tsv": ["data.path=some.tsv"]}


@pytest.mark.parametrize("group, option", OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_every_option_composes_validates_and_builds(compose_cfg, group, option):
    cfg = compose_cfg(f"{group}={option}", *REQUIRED.get(f"{group}={option}", []))
    validate(cfg)
    model = build(cfg.model, input_dim=784)
    if isinstance(model, Baseline):  # no optimiser: fitted in one call
        assert model.latent_dim == cfg.model.latent_dim and model.seed == cfg.seed
        return
    optimizer = build(cfg.optim)(model.parameters())
    assert isinstance(optimizer, torch.optim.Optimizer)
    assert model.encode(torch.zeros(3, 784)).shape == (3, cfg.model.latent_dim)


def test_defaults(compose_cfg):
    cfg = compose_cfg()
    assert cfg.model._target_ == "reducers.vae.VAE"
    assert (cfg.model.recon, cfg.model.beta, cfg.model.kl_scaling) == ("bce", 1.0, "standard")
    assert cfg.data._target_ == "reducers.data.load_mnist5k" and cfg.data.test_fraction == 0.2


def test_overrides_from_the_issue(compose_cfg):
    cfg = compose_cfg("model=vae", "model.recon=bce", "model.beta=4", "model.hidden=[512,256]",
                      "trainer.epochs=5", "trainer.batch_size=64", "optim=sgd",
                      "optim.lr=0.01", "seed=3")
    settings = validate(cfg)
    assert settings.model.beta == 4.0 and settings.model.hidden == [512, 256]
    assert settings.trainer.batch_size == 64 and settings.seed == 3
    assert build(cfg.optim)(build(cfg.model, input_dim=4).parameters()).__class__.__name__ == "SGD"


def test_fixed_preset_differs_from_the_blog_only_in_scaling(compose_cfg):
    blog, fixed = compose_cfg("+experiment=seed_vae"), compose_cfg("+experiment=seed_vae_fixed")
    assert fixed.model.kl_scaling == "standard"
    fixed.model.kl_scaling = blog.model.kl_scaling
    assert fixed == blog


def test_blog_preset_is_the_blog_setup(compose_cfg):
    cfg = compose_cfg("+experiment=seed_vae")
    assert list(cfg.model.hidden) == [400] and cfg.model.latent_dim == 2
    assert (cfg.model.recon, cfg.model.kl_scaling, cfg.model.beta) == ("mse", "seed", 1.0)
    assert cfg.optim._target_ == "torch.optim.SGD" and cfg.optim.lr == 0.01
    assert (cfg.trainer.batch_size, cfg.trainer.epochs) == (10, 40)


@pytest.mark.parametrize("override", [
    "model.beta=abc",          # wrong type
    "model.recon=l1",          # invalid choice
    "model.activation=swish",  # invalid choice
    "model.betta=1",           # unknown key (typo)
    "model=ae model.beta=1",   # key of another option
    "trainer.epochs=1.5",      # float for int
    "model=transformer",       # no such option
])
def test_composition_rejects_bad_overrides(compose_cfg, override):
    with pytest.raises((ConfigCompositionException, OmegaConfBaseException)):
        compose_cfg(*override.split())


@pytest.mark.parametrize("override, key", [
    ("model.beta=-1", "model.beta"),
    ("model.beta=inf", "model.beta"),
    ("model.latent_dim=0", "model.latent_dim"),
    ("model.hidden=[256,0]", "model.hidden"),
    ("optim.lr=0", "optim.lr"),
    ("optim=sgd optim.momentum=1.5", "optim.momentum"),
    ("trainer.epochs=0", "trainer.epochs"),
    ("trainer.batch_size=0", "trainer.batch_size"),
    ("trainer.threads=0", "trainer.threads"),
    ("data.test_fraction=1.0", "data.test_fraction"),
    ("data.limit=1", "data.limit"),
    ("score.knn_k=0", "score.knn_k"),
    ("compare.sort_by=accuracy", "compare.sort_by"),
    ("model=tsne model.perplexity=0", "model.perplexity"),
    ("model=umap model.n_neighbors=1", "model.n_neighbors"),
    ("data=idx", "data.path is required"),
])
def test_validation_rejects_out_of_range_values_naming_the_key(compose_cfg, override, key):
    cfg = compose_cfg(*override.split())
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        validate(cfg)


def test_help_lists_the_groups_and_options():
    out = run_cli("--help").stdout
    for line in ("model: ae, pca, tsne, umap, vae", "optim: adam, sgd",
                 "data: digits, fashion_mnist, idx, mnist, mnist5k, tsv",
                 "experiment: seed_vae, seed_vae_fixed",
                 "sweep: anomaly, anomaly_loo, beta_loss, blog, reducers",
                 "detector and sweep=anomaly, anomaly_loo belong to python -m experiments.anomaly"):
        assert line in out
    assert "schema" not in out  # the structured-config schemas are not user choices
    anomaly = run_cli("--help", module="experiments.anomaly").stdout
    assert "detector: ae (reconstruction error)" in anomaly and "kind: ae" in anomaly
    assert "threshold_quantile: 0.95" in anomaly and "model:" not in anomaly
    embed = run_cli("--help", module="experiments.embed").stdout
    assert "Usage:  python -m experiments.embed checkpoint=" in embed and "detector" not in embed
