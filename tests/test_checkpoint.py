"""Checkpoints (reducers/checkpoint.py): written atomically, loaded with weights_only, and
refused with one message when missing, truncated, foreign, tampered with or of another model."""

import pytest
import torch

from reducers import VAE
from reducers.checkpoint import _digest, build_model, load_checkpoint, save_checkpoint
from reducers.errors import CheckpointError

SPEC = {"target": "reducers.vae.VAE", "input_dim": 784, "kwargs": {"hidden": [16]}}


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = VAE(input_dim=784, hidden=[16])
    path = tmp_path / "run" / "checkpoint.pt"
    path.parent.mkdir()
    save_checkpoint(path, model, torch.optim.Adam(model.parameters()), epoch=3,
                    model_spec=SPEC)
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

    foreign = {**state, "model_spec": {**SPEC, "target": "os.system"}}
    foreign["digest"] = _digest(foreign)  # consistent, but names a foreign class
    torch.save(foreign, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="only classes of the reducers package"):
        build_model(load_checkpoint(tmp_path / "foreign.pt"))

    misfit = {**state, "model_spec": {**SPEC, "kwargs": {"hidden": [8]}}}
    misfit["digest"] = _digest(misfit)
    torch.save(misfit, tmp_path / "misfit.pt")
    with pytest.raises(CheckpointError, match="does not fit this model"):
        build_model(load_checkpoint(tmp_path / "misfit.pt"))
