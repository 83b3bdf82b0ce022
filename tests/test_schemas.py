"""Every config option of every app composes, validates and builds; every default is stated once
(the library's settings for models, detectors, parts and the trainer; the YAML for the rest);
bad settings fail before any work with the one line the command line prints
(checked here in-process through ``experiments.error_lines.error_line``; tests/test_cli.py
runs a few through the real command line)."""

import dataclasses

import pytest
import torch
import yaml
from omegaconf import MISSING, OmegaConf

from experiments.anomaly import detect
from experiments.embed import embed
from experiments.config_groups import CONF_DIR
from experiments.error_lines import error_line
from experiments.runtime import build
from experiments.schemas import SCHEMAS, validate
from experiments.train import train
from reducers.baselines import Baseline
from tests.helpers import StopAfter, composer

APPS = {"train": ["model", "model/net", "model/embedding", "model/place", "data", "optim",
                  "trainer", "score", "paths", "experiment", "heldout", "hparams_search",
                  "tracking"],
        "anomaly": ["detector", "detector/net", "data", "heldout", "optim", "trainer",
                    "paths"],
        "embed": ["data", "score", "paths"]}
REQUIRED = {"data=idx": ["data.path=some/folder"], "data=tsv": ["data.path=some.tsv"],
            "data=table": ["data.path=some.csv"], "heldout=idx": ["heldout.path=some/folder"],
            "heldout=tsv": ["heldout.path=some.tsv"], "heldout=table": ["heldout.path=some.csv"]}
OPTIONS = [(app, group, path.stem) for app, groups in APPS.items() for group in groups
           for path in sorted((CONF_DIR / group).glob("*.yaml"))] + \
    [("anomaly", "experiment", f"anomaly/{path.stem}")
     for path in sorted((CONF_DIR / "experiment" / "anomaly").glob("*.yaml"))]
IMAGES = {"input_dim": 784, "image_shape": (28, 28)}


@pytest.mark.parametrize("app, group, option", OPTIONS,
                         ids=[f"{a}:{g}={o}" for a, g, o in OPTIONS])
def test_every_option_composes_validates_and_builds(app, group, option):
    extra = ["checkpoint=some/run"] if app == "embed" else []
    cfg = composer(app)(f"{group}={option}", *REQUIRED.get(f"{group}={option}", []), *extra)
    validate(cfg)
    if app == "train" and group.startswith(("model", "optim", "experiment")):
        model = build(cfg.model, **(IMAGES if "net" in cfg.model else {"input_dim": 784}))
        if isinstance(model, Baseline):  # no optimiser: fitted in one call
            assert model.latent_dim == cfg.model.latent_dim and model.seed == cfg.seed
            return
        assert isinstance(build(cfg.optim)(model.parameters()), torch.optim.Optimizer)
        assert model.encode(torch.zeros(3, 784)).shape == (3, cfg.model.latent_dim)
    if app == "anomaly" and group.startswith("detector"):
        detector = build(cfg.detector, **IMAGES)
        assert detector.codes(torch.zeros(3, 784)).shape == (3, cfg.detector.latent_dim)


LIBRARY_HOMES = ["model", "model/net", "model/embedding", "model/place", "detector",
                 "detector/net", "data", "score"]


@pytest.mark.parametrize("group", LIBRARY_HOMES)
def test_every_default_of_a_model_a_part_a_source_or_the_trainer_is_stated_once(group):
    """Their schemas are the library's settings dataclasses, which hold every default; the
    YAML options name what builds them, pick parts and wire values (``seed: ${seed}``),
    restating none."""
    for path in sorted((CONF_DIR / group).glob("*.yaml")):
        stated = yaml.safe_load(path.read_text()) or {}
        values = {k: v for k, v in stated.items() if k not in ("defaults", "_target_")}
        assert all(str(v).startswith("${") for v in values.values()), (path.name, values)
    trainer = yaml.safe_load((CONF_DIR / "trainer" / "default.yaml").read_text())
    assert set(trainer) == {"defaults"}


def test_the_other_schemas_state_no_values_only_types_and_ranges():
    """Optimiser, scoring, paths and tracking: every value is in the YAML a user reads."""
    library = {"train", "embed", "anomaly", "trainer", "score"} | \
        {n for n in SCHEMAS
         if n.startswith(("model_", "detector_", "net_", "embedding_", "place_", "data"))}
    for name, schema in SCHEMAS.items():
        if name in library:
            continue
        for f in dataclasses.fields(schema):
            assert f.default is MISSING and f.default_factory is dataclasses.MISSING, \
                f"schema_{name}.{f.name} has a default; state it in the YAML instead"


def test_defaults_and_presets(compose_train):
    cfg = compose_train()
    assert cfg.model._target_ == "reducers.vae.VAE" and list(cfg.model.net.hidden) == [512, 256]
    assert (cfg.model.recon, cfg.model.kl.beta, cfg.model.kl.scaling) == \
        ("bce", 1.0, "standard")
    assert (cfg.optimized_metric, cfg.optimized_direction, cfg.compare.sort_by) == \
        ("knn_acc", "maximize", "knn_acc")
    blog, fixed = compose_train("experiment=blog_vae"), compose_train("experiment=blog_vae_fixed")
    assert list(blog.model.net.hidden) == [400] and blog.model.latent_dim == 2
    assert (blog.model.recon, blog.model.kl.scaling, blog.model.kl.beta) == ("mse", "blog", 1.0)
    assert blog.optim._target_ == "torch.optim.SGD" and blog.optim.lr == 0.01
    assert (blog.trainer.batch_size, blog.trainer.epochs) == (10, 40)
    assert fixed.model.kl.scaling == "standard"
    fixed.model.kl.scaling = blog.model.kl.scaling
    assert fixed == blog  # the fixed twin differs in the scaling alone
    anomaly = composer("anomaly")()
    assert (anomaly.trainer.epochs, anomaly.trainer.batch_size) == (100, 32)
    assert anomaly.trainer.backward == cfg.trainer.backward  # the rest is trainer=default's


def test_stored_sweeps_need_no_plus_and_belong_to_their_app():
    full = composer("train", return_hydra_config=True)("sweep=beta_loss")
    assert full.hydra.mode.name == "MULTIRUN" and full.model._target_ == "reducers.vae.VAE"
    assert full.hydra.sweeper.params["model.kl.beta"] == "0,0.1,0.25,0.5,1,2,4,8"
    for sweep in ("beta_loss", "reducers", "blog"):  # sweeps that compare settings: 3 seeds
        params = composer("train", return_hydra_config=True)(f"sweep={sweep}").hydra.sweeper.params
        assert params["seed"] == "0,1,2", sweep
    blog = composer("train", return_hydra_config=True)("sweep=blog")
    assert blog.model.kl.scaling == "blog" and blog.hydra.runtime.choices.experiment == "blog_vae"
    one_class = composer("anomaly", return_hydra_config=True)("sweep=anomaly/one_class")
    assert one_class.anomaly.protocol == "one_class" and one_class.hydra.mode.name == "MULTIRUN"
    assert message("train", "sweep=anomaly/one_class") == (
        "error: In 'sweep/anomaly/one_class': ConfigKeyError raised while composing config: "
        "Key 'anomaly' not in 'TrainConfig'; the app's --help lists the sweeps and presets it "
        "takes")
    assert message("anomaly", "sweep=beta_loss").startswith(
        "error: In 'sweep/beta_loss': Could not override 'model'")


SWEEPS = [("train", p.stem) for p in sorted((CONF_DIR / "sweep").glob("*.yaml"))] + \
    [("anomaly", f"anomaly/{p.stem}")
     for p in sorted((CONF_DIR / "sweep" / "anomaly").glob("*.yaml"))]


def _ends_if_numbers(values: list[str]) -> list[str]:
    try:
        [float(v) for v in values]
    except ValueError:
        return values
    return list(dict.fromkeys([values[0], values[-1]]))


def jobs_of(grid: dict, also: list) -> list[list[str]]:
    """Overrides that give every value of every swept choice (each model, detector, score,
    variant a sweep picks) and the first and last value of every swept number, of the grid and
    of each variant: not the whole cartesian product, which composes the same way."""
    jobs = []
    for changes in [{}, *also]:
        keys = {**grid, **changes}
        values = {k: _ends_if_numbers(str(v).split(",")) for k, v in keys.items() if v is not None}
        for i in range(max(map(len, values.values()))):
            job = [f"{k}={v[min(i, len(v) - 1)]}" for k, v in values.items()]
            if job not in jobs:
                jobs.append(job)
    return jobs


@pytest.mark.parametrize("app, sweep", SWEEPS, ids=[s for _, s in SWEEPS])
def test_every_job_of_every_stored_sweep_composes_validates_and_builds(app, sweep):
    full = composer(app, return_hydra_config=True)(f"sweep={sweep}")
    sweeper = full.hydra.sweeper
    jobs = jobs_of(OmegaConf.to_container(sweeper.params), OmegaConf.to_container(sweeper.also))
    for job in jobs:
        cfg = composer(app)(f"sweep={sweep}", *job)
        validate(cfg)
        node = cfg.model if app == "train" else cfg.detector
        build(node, **(IMAGES if "net" in node else {"input_dim": 784}))


def test_the_stored_search_composes_with_each_of_its_choices():
    full = composer("train", return_hydra_config=True)("hparams_search=vae_optuna")
    params = full.hydra.sweeper.params
    assert set(params) == {"model.kl.beta", "optim.lr", "model.net.hidden"}
    for hidden in ("[256,128]", "[512,256]", "[1024,512]"):
        cfg = composer("train")("hparams_search=vae_optuna", "model.kl.beta=0.05",
                                "optim.lr=1e-4", f"model.net.hidden={hidden}")
        validate(cfg)
        assert build(cfg.model, input_dim=784).net.hidden == yaml.safe_load(hidden)


def test_help_pages_list_each_apps_own_groups_and_their_options():
    for app, groups in APPS.items():
        extra = ["checkpoint=x"] if app == "embed" else []
        text = composer(app, return_hydra_config=True)(*extra).hydra.help.template
        section = text.split("== Groups")[1].split("== Config")[0].splitlines()[1:]
        listed = [line.split(": ")[0] for line in section if line[:1].isalpha() and ": " in line]
        own = groups + (["sweep", "hydra/launcher"] if app != "embed" else []) + \
            (["experiment"] if app == "anomaly" else [])
        assert sorted(listed) == sorted(own), app
    train_help = composer("train", return_hydra_config=True)().hydra.help.template
    assert "model: ae, pca, tsne, umap, vae" in train_help
    assert "sweep: beta_loss, blog, embedding, frontier, quality, reducers" in train_help
    assert "detector" not in train_help
    anomaly_help = composer("anomaly", return_hydra_config=True)().hydra.help.template
    assert "sweep: anomaly/leave_one_out, anomaly/leave_one_out_t10k, anomaly/one_class, " \
        "anomaly/one_class_t10k" in anomaly_help
    assert "detector: ae, chain, vae" in anomaly_help and "model:" not in anomaly_help
    assert "model/net: conv, mlp" in train_help and "detector/net: conv, mlp" in anomaly_help
    assert "model/embedding: tsne, umap" in train_help


def message(app: str, *overrides: str, tmp_path=None) -> str:
    """What the command line would print for these overrides: the one error line (composition,
    validation, or the data, checkpoint and protocol checks before training), else 'no error'.
    The run folder must stay empty."""
    work = {"train": train, "anomaly": detect, "embed": embed}[app]
    try:
        cfg = composer(app)(*overrides)
        validate(cfg)
        if tmp_path is not None:
            work(cfg, tmp_path / "run", StopAfter(1))  # a run that passes stops at once
    except Exception as exc:  # noqa: BLE001 (the one line is what is tested)
        if tmp_path is not None and (tmp_path / "run").exists():
            assert not any((tmp_path / "run").iterdir()), "a refused run wrote files"
        return error_line(exc)
    return "no error"


BAD = [  # (app, overrides, what the one line must contain: the key and the allowed values)
    ("train", "model.kl.beta=-1", "model.kl.beta=-1.0 is invalid: must be a finite number >= 0"),
    ("train", "model.kl.beta=nan", "model.kl.beta=nan is invalid: must be a finite number >= 0"),
    ("train", "model.kl.beta=inf", "model.kl.beta=inf is invalid: must be a finite number >= 0"),
    ("train", "model.kl.beta=abc", "model.kl.beta=abc (Value 'abc' of type 'str' could not be "
                                "converted"),
    ("train", "model.betta=1", "Key 'betta' not in 'VAEConfig'"),
    ("train", "model=ae model.kl.beta=1", "Key 'kl' not in 'AEConfig'"),
    ("train", "model.beta=1", "Key 'beta' not in 'VAEConfig'); an earlier spelling: it is now "
                              "model.kl.beta"),
    ("train", "model=transformer", "available: ae, pca, tsne, umap, vae"),
    ("train", "model.recon=l1", "expected one of [mse, bce]"),
    ("train", "model.kl.scaling=seed", "expected one of [standard, blog]"),
    ("train", "model.net.activation=swish", "model.net.activation=swish (Invalid value 'swish', "
                                           "expected one of [relu, elu"),
    ("train", "model.latent_dim=0", "model.latent_dim=0 is invalid: must be >= 1"),
    ("train", "model.kl.schedule=linear", "model.kl.warmup_epochs=0 is invalid: "
                                            "model.kl.schedule=linear ramps over >= 1 epoch"),
    ("train", "model.kl.warmup_epochs=-1", "model.kl.warmup_epochs=-1 is invalid: must be >= 0"),
    ("train", "model.kl.schedule=sigmoid", "expected one of [constant, linear, cyclical]"),
    ("train", "model.net.hidden=[512,0]",
     "model.net.hidden=[512, 0] is invalid: a list of layer sizes"),
    ("train", "model.net.hidden=abc", "model.net.hidden=abc (Invalid value assigned: str is not"),
    ("train", "model=tsne model.perplexity=0",
     "model.perplexity=0.0 is invalid: must be a finite number > 0"),
    ("train", "model=tsne model.max_iter=10", "model.max_iter=10 is invalid: must be >= 250"),
    ("train", "model=umap model.n_neighbors=1", "model.n_neighbors=1 is invalid: must be >= 2"),
    ("train", "optim.lr=0", "optim.lr=0.0 is invalid: must be > 0"),
    ("train", "optim.lr=-0.1", "optim.lr=-0.1 is invalid: must be > 0"),
    ("train", "optim.weight_decay=-1", "optim.weight_decay=-1.0 is invalid: must be >= 0"),
    ("train", "optim=sgd optim.momentum=1.5", "optim.momentum=1.5 is invalid: must be in [0, 1)"),
    ("train", "optim=rmsprop", "available: adam, sgd"),
    ("train", "trainer.epochs=0", "trainer.epochs=0 is invalid: must be >= 1"),
    ("train", "trainer.epochs=1.5", "trainer.epochs=1.5"),
    ("train", "trainer.batch_size=0", "trainer.batch_size=0 is invalid: must be >= 1"),
    ("train", "trainer.lr_schedule=linear", "expected one of [none, cosine, onecycle, step]"),
    ("train", "trainer.lr_gamma=0", "trainer.lr_gamma=0.0 is invalid: must be in (0, 1]"),
    ("train", "model.net=cnn", "model/net=... picks it (available: conv, mlp)"),
    ("train", "model/net=cnn", "Could not find 'model/net/cnn'; available: conv, mlp"),
    ("train", "model/net=conv model.net.kernel_size=4",
     "model.net.kernel_size=4 is invalid: an odd number >= 1"),
    ("train", "model/net=conv model.net.channels=[8,0]",
     "model.net.channels=[8, 0] is invalid: one entry per convolution, each >= 1"),
    ("train", "model.net.channels=[8]", "Key 'channels' not in 'MLP'); a conv network's setting: "
                                        "add model/net=conv"),
    ("train", "model.net.dropout=1", "model.net.dropout=1.0 is invalid: must be in [0, 1)"),
    ("train", "model.net.input_dropout=-0.1", "model.net.input_dropout=-0.1 is invalid"),
    ("train", "model/embedding=mds", "Could not find 'model/embedding/mds'; available: tsne, umap"),
    ("train", "model/embedding=tsne model.embedding.perplexity=0.5",
     "model.embedding.perplexity=0.5 is invalid: must be a finite number >= 1"),
    ("train", "model/embedding=umap model.embedding.perplexity=5",
     "Key 'perplexity' not in 'UMAPTerm'"),
    ("train", "model/embedding=tsne model.embedding.scale=0",
     "model.embedding.scale=0.0 is invalid: must be a finite number > 0"),
    ("train", "model/embedding=tsne model.embedding.batch=5000",
     "model.embedding.batch=5000 is invalid: the tsne term draws at most the 4000 training "
     "rows; lower it"),
    ("train", "model/embedding=umap model.embedding.n_neighbors=1",
     "model.embedding.n_neighbors=1 is invalid: must be >= 2"),
    ("train", "model/embedding=umap model.embedding.negative_rate=0",
     "model.embedding.negative_rate=0 is invalid: must be >= 1"),
    ("train", "model/embedding=umap model.embedding.weight=-1",
     "model.embedding.weight=-1.0 is invalid"),
    ("train", "model=pca model/embedding=umap", "model/embedding picks a part of a network: it "
                                                "applies to model=ae and model=vae"),
    ("train", "trainer.augment_shift=9", "trainer.augment_shift=9.0 is invalid: pixels in [0, 8]"),
    ("train", "trainer.augment_degrees=-5", "trainer.augment_degrees=-5.0 is invalid"),
    ("train", "trainer.early_stopping=5", "trainer.early_stopping=5 is invalid: needs a "
                                          "validation set: add trainer.val_fraction=0.1"),
    ("train", "trainer.restore_best=true", "trainer.restore_best=True is invalid: needs a "
                                           "validation set"),
    ("train", "trainer.val_fraction=0.6", "trainer.val_fraction=0.6 is invalid: must be in "
                                          "[0, 0.5)"),
    ("train", "trainer.lr_step_epochs=0", "trainer.lr_step_epochs=0 is invalid: must be >= 1"),
    ("train", "trainer.test_every=0", "trainer.test_every=0 is invalid: must be >= 1 (1: every "
     "epoch; the last epoch is always evaluated)"),
    ("train", "trainer.threads=0", "trainer.threads=0 is invalid: must be >= 1 or null"),
    ("train", "trainer.backward=fast", "Invalid value 'fast', expected one of [manual, autograd]"),
    ("train", "trainer.checkpoint_seconds=-1", "trainer.checkpoint_seconds=-1.0 is invalid"),
    ("train", "trainer.resume_from=x.pt", "trainer.resume_from='x.pt' is invalid: is only read "
                                          "with trainer.resume=true"),
    ("train", "trainer.resume=true trainer.resume_from=missing.pt", "missing.pt: no such "
                                                                    "checkpoint"),
    ("train", "data.test_fraction=1", "data.test_fraction=1.0 is invalid: must be in (0, 1)"),
    ("train", "data.test_fraction=0", "data.test_fraction=0.0 is invalid: must be in (0, 1)"),
    ("train", "data.limit=1", "data.limit=1 is invalid: must be >= 2 or null"),
    ("train", "data.limit=5", "data.limit=5 is smaller than the number of classes (10)"),
    # settings that only fail against the data's size: refused before training
    ("train", "data.limit=300 score.knn_k=500",
     "score.knn_k=500 is invalid: at most the 240 training images of mnist5k"),
    ("train", "data.limit=300 score.trust_k=40",
     "score.trust_k=40 is invalid: must be below half the 60 test points scored"),
    ("train", "score.max_pairwise=10", "score.max_pairwise=10 is invalid: the silhouette needs "
                                       "more points than the 10 classes"),
    ("train", "score.max_pairwise=11 score.trust_k=6", "score.trust_k=6 is invalid: must be "
                                                       "below half the 11 test points"),
    ("train", "data.limit=300 model=pca model.latent_dim=300",
     "PCA gives at most min(training images, features) = 240 components"),
    ("train", "data.limit=100 model=tsne model.perplexity=100",
     "model.perplexity=100.0 is invalid: must be below the 100 points t-SNE embeds"),
    ("train", "seed=-1", "seed=-1 is invalid: a seed is an integer in 0 .. 4294967295"),
    ("train", "seed=2199023255552", "seed=2199023255552 is invalid: a seed is an integer"),
    ("train", "data.seed=-3", "data.seed=-3 is invalid: a seed is an integer in 0 .. "),
    ("anomaly", "seed=-1", "seed=-1 is invalid: a seed is an integer"),
    # Hydra's grammar: the argument, the place, and how to quote
    ("train", "trainer.epochs=3 b", "cannot parse the argument 'b': missing '=': each argument "
                                    "is key=value; quote values"),
    ("train", "data.path=/tmp/é", "cannot parse the argument 'data.path=/tmp/é' at character 16 "
                                  "('é')"),
    ("train", "model.net.hidden=[1,2", "no viable alternative at input '[1,2' (an unclosed bracket "
                                   "or quote?)"),
    ("embed", "checkpoint=x seed=4294967296", "seed=4294967296 is invalid"),
    ("anomaly", "data=digits data.limit=40 data.test_fraction=0.5 trainer.val_fraction=0.45",
     "trainer.val_fraction=0.45 leaves 1 normal training images"),
    ("train", "data=idx", "data.path is required: add data.path=... to the command line"),
    ("train", "data=idx data.path=no/such/folder", "no/such/folder: no such folder"),
    ("train", "data=tsv data.path=no/such.tsv", "no/such.tsv: no such file"),
    ("train", "data=cifar", "available: digits, fashion_mnist, idx, mnist, mnist5k, table, tsv"),
    ("train", "score.knn_k=0", "score.knn_k=0 is invalid: must be >= 1"),
    ("train", "score.trust_k=0", "score.trust_k=0 is invalid: must be >= 1"),
    ("train", "score.max_pairwise=5", "score.max_pairwise=5 is invalid: must be >= 10"),
    ("train", "compare.sort_by=speed", "compare.sort_by='speed' is invalid: one of knn_acc"),
    ("train", "optimized_metric=speed", "optimized_metric='speed' is invalid: one of knn_acc"),
    ("train", "optimized_metric=davies_bouldin", "optimized_direction='maximize' is invalid: "
                                                 "davies_bouldin is better when lower; set "
                                                 "optimized_direction=minimize"),
    ("train", "optimized_direction=up",
     "optimized_direction='up' is invalid: maximize or minimize"),
    ("train", "seed=abc", "seed=abc"),
    ("train", "experiment=nope", "available: blog_vae, blog_vae_fixed"),
    ("train", "sweep=nope",
     "Could not find 'sweep/nope'; available: beta_loss, blog, embedding, frontier, quality, "
     "reducers"),
    ("anomaly", "anomaly.normal_class=11", "anomaly.normal_class=11 is invalid"),
    ("anomaly", "anomaly.protocol=leave_one_out anomaly.anomaly_class=-1",
     "anomaly.anomaly_class=-1 is invalid"),
    ("anomaly", "detector=vae detector.n_samples=0", "detector.n_samples=0 is invalid"),
    ("anomaly", "detector=vae detector.kl.beta=-2", "detector.kl.beta=-2.0 is invalid"),
    ("anomaly", "detector.net.hidden=[0]", "detector.net.hidden=[0] is invalid"),
    ("anomaly", "detector=chain detector.second_latent_dim=0",
     "detector.second_latent_dim=0 is invalid: must be >= 1"),
    ("anomaly", "anomaly.threshold_quantile=1", "must be in (0, 1)"),
    ("anomaly", "trainer.val_fraction=0.9", "trainer.val_fraction=0.9 is invalid: must be in "
                                            "[0, 0.5)"),
    ("anomaly", "anomaly.held_out_fraction=0.2", "Key 'held_out_fraction' not in "
                                                 "'AnomalySettings'); an earlier spelling: it "
                                                 "is now trainer.val_fraction"),
    ("anomaly", "detector.variant=latent", "Key 'variant' not in 'AEDetectorConfig'"),
    # + adds a key even to a structured node; the schema still refuses one it does not know
    ("train", "+trainer.epoch=5", "trainer.epoch is not a setting (trainer has no key "
                                  "'epoch'): did you mean trainer.epochs?"),
    ("train", "+model.net.widths=[3]", "model.net.widths is not a setting (model.net has no "
                                       "key 'widths'): its keys are hidden, activation"),
    ("embed", "checkpoint=x +nonsense=1", "nonsense is not a setting (the app has no key "
                                          "'nonsense')"),
    ("anomaly", "detector=chain detector.fusion=median", "expected one of [mean, max"),
    ("anomaly", "anomaly.protocol=all", "anomaly.protocol=all"),
    ("anomaly", "trainer.resume=true", "does not resume"),
    ("anomaly", "trainer.val_fraction=0.1 trainer.early_stopping=3",
     "trainer.early_stopping=3 is invalid: experiments.anomaly trains every epoch"),
    ("anomaly", "optimized_metric=knn_acc", "optimized_metric='knn_acc' is invalid: one of auroc"),
    ("anomaly", "optimized_metric=fpr", "fpr is better when lower"),
    ("embed", "data=digits", "checkpoint is required: add checkpoint=... to the command line"),
]


@pytest.mark.parametrize("app, overrides, expected", BAD,
                         ids=[f"{a}:{o}" for a, o, _ in BAD])
def test_bad_settings_fail_before_any_work_with_one_line(app, overrides, expected, tmp_path):
    line = message(app, *overrides.split(), tmp_path=tmp_path)
    assert line.startswith("error: ") and "\n" not in line, line
    assert expected in line, line
