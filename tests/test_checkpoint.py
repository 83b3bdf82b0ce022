"""Checkpoints (reducers/checkpoint.py): written atomically, loaded with weights_only, and
refused with one message when missing, truncated, foreign, tampered with or of another model."""

import pytest
import torch

from reducers import MLP, VAE
from reducers.checkpoint import _digest, build_model, load_checkpoint, model_spec, save_checkpoint
from reducers.errors import CheckpointError


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = VAE(input_dim=784, net=MLP(hidden=[16]))
    path = tmp_path / "run" / "checkpoint.pt"
    path.parent.mkdir()
    save_checkpoint(path, model, torch.optim.Adam(model.parameters()), epoch=3,
                    model_spec=model_spec(model))
    return model, path


def test_round_trip(saved, digits):
    model, path = saved
    state = load_checkpoint(path)  # weights_only=True inside
    assert state["epoch"] == 3
    x = torch.from_numpy(digits.x_test[:8])
    assert torch.equal(build_model(state).encode(x), model.encode(x))
    assert build_model(load_checkpoint(path.parent)).latent_dim == 2  # a run folder works too
    assert not list(path.parent.glob(".*tmp*")), "the temp file of the atomic write was left"


def test_missing_truncated_and_foreign_files_are_refused(saved, tmp_path):
    _, path = saved
    (tmp_path / "truncated.pt").write_bytes(path.read_bytes()[:1000])
    (tmp_path / "foreign.pt").write_bytes(b"not a checkpoint")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    for name in ("truncated.pt", "foreign.pt", "other.pt", "missing.pt"):
        with pytest.raises(CheckpointError, match=name):
            load_checkpoint(tmp_path / name)


def test_tampered_pickled_and_misfit_checkpoints_are_refused(saved, tmp_path):
    _, path = saved
    state = torch.load(path, weights_only=True)
    name = next(iter(state["model"]))

    edited = {**state, "model": {**state["model"], name: state["model"][name] + 1e-3}}
    torch.save(edited, tmp_path / "edited.pt")
    with pytest.raises(CheckpointError, match="do not match the digest"):
        load_checkpoint(tmp_path / "edited.pt")

    flipped = bytearray(path.read_bytes())  # one byte flipped in the middle of the weights
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

    spec = state["model_spec"]
    foreign = {**state, "model_spec": {**spec, "target": "os.system"}}
    foreign["digest"] = _digest(foreign)  # consistent, but names a foreign class
    torch.save(foreign, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="only classes of the reducers package"):
        build_model(load_checkpoint(tmp_path / "foreign.pt"))

    net = {**spec["parts"]["net"], "hidden": [8]}
    misfit = {**state, "model_spec": {**spec, "parts": {**spec["parts"], "net": net}}}
    misfit["digest"] = _digest(misfit)
    torch.save(misfit, tmp_path / "misfit.pt")
    with pytest.raises(CheckpointError, match="does not fit this model"):
        build_model(load_checkpoint(tmp_path / "misfit.pt"))

    part = {**spec["parts"]["net"], "class": "subprocess.Popen"}  # a part of a foreign class
    smuggled = {**state, "model_spec": {**spec, "parts": {**spec["parts"], "net": part}}}
    smuggled["digest"] = _digest(smuggled)
    torch.save(smuggled, tmp_path / "smuggled.pt")
    with pytest.raises(CheckpointError, match="'subprocess.Popen'; only classes of the reducers"):
        build_model(load_checkpoint(tmp_path / "smuggled.pt"))


def test_a_checkpoint_of_an_earlier_version_with_flat_settings_still_builds(saved, tmp_path):
    """Before the parts a spec held the constructor's flat keyword arguments."""
    model, path = saved
    state = torch.load(path, weights_only=True)
    flat = {"hidden": [16], "latent_dim": 2, "activation": "relu", "recon": "bce",
            "beta": 1.0, "kl_scaling": "standard", "beta_schedule": "constant",
            "warmup_epochs": 0, "net": "mlp", "channels": [32, 64], "kernel_size": 3,
            "batchnorm": False, "dropout": 0.0, "input_dropout": 0.0,
            "embedding_loss": "none", "embedding_weight": 1.0, "perplexity": 30.0,
            "n_neighbors": 15, "min_dist": 0.1, "negative_rate": 5, "embedding_batch": 512,
            "embedding_scale": 1.0, "image_shape": [28, 28]}
    old = {**state, "model_spec": {"target": "reducers.vae.VAE", "input_dim": 784,
                                   "kwargs": flat}}
    old["digest"] = _digest(old)
    torch.save(old, tmp_path / "old.pt")
    rebuilt = build_model(load_checkpoint(tmp_path / "old.pt"))
    assert rebuilt.net == MLP(hidden=[16]) and rebuilt.settings.embedding is None
    x = torch.rand(4, 784)
    assert torch.equal(rebuilt.encode(x), model.encode(x))


def test_a_folder_without_a_checkpoint_says_what_it_holds(tmp_path):
    """An anomaly run, a baseline's run, a sweep and a run stopped before its first epoch
    hold no checkpoint, each for its own reason, which the error names."""
    import json

    cases = {"anomaly": {"task": "anomaly", "status": "ok"},
             "pca": {"task": "train", "status": "ok",
                     "config": {"model": {"_target_": "reducers.baselines.PCA"}}},
             "stopped": {"task": "train", "status": "interrupted"}}
    for name, record in cases.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.json").write_text(json.dumps(record))
    (tmp_path / "sweep" / "0").mkdir(parents=True)
    (tmp_path / "sweep" / "0" / "checkpoint.pt").write_bytes(b"")
    expected = {"anomaly": "is an anomaly-detection run: its detectors are trained afresh",
                "pca": "is a PCA run: a baseline is fitted in one go and keeps no checkpoint",
                "stopped": "holds a run that ended interrupted before keeping an epoch",
                "sweep": f"is a sweep: name one of its runs, e.g. {tmp_path / 'sweep' / '0'}"}
    for name, message in expected.items():
        with pytest.raises(CheckpointError) as caught:
            load_checkpoint(tmp_path / name)
        assert str(caught.value).startswith(f"{tmp_path / name / 'checkpoint.pt'}: no such "
                                            f"checkpoint ({tmp_path / name} {message}")
