"""The private names of torch and Hydra that the project relies on, each kept in one adapter
(``reducers/torch_internals.py``, ``hydra_plugins/reducer_sweep/hydra_internals.py``) that
states the release it was written for. Each test fails loudly, naming what moved, when a release changes
them, and each fallback is run here as a newer release would run it."""

import torch

from hydra_plugins.reducer_sweep import hydra_internals
from reducers import MLP, VAE, manual, torch_internals
from tests.helpers import fit


def test_torch_still_has_every_private_name_the_adapter_was_written_for():
    gone = torch_internals.missing()
    assert gone == [], (f"torch {torch.__version__} lacks {gone} (reducers/torch_internals.py "
                        f"was written for torch {torch_internals.WRITTEN_FOR}): their fallbacks "
                        "run, slower; update the adapter")


def test_without_atens_backward_kernels_a_model_trains_through_autograd(monkeypatch, digits):
    x = torch.from_numpy(digits.x_train[:256])
    torch.manual_seed(0)
    model = VAE(input_dim=784, net=MLP(hidden=[32]), recon="mse")
    optimizer = torch.optim.Adam(model.parameters())
    assert model.manual_step(optimizer) is not None
    monkeypatch.setattr(manual, "aten", lambda name: None)  # a torch without them
    assert model.manual_step(optimizer) is None
    result = fit(model, optimizer, x, epochs=1, batch_size=64)
    assert result.status == "ok" and result.backward == "autograd"


def _step_once(step_of, seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Linear(8, 4)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    model(torch.ones(2, 8)).sum().backward()
    step = step_of(optimizer)
    step()
    return step, optimizer, model.weight.detach().clone()


def test_without_the_optimisers_hook_registries_the_wrapped_step_runs(monkeypatch):
    monkeypatch.setattr(torch_internals, "_compiler_loaded", lambda: False)  # as in a run
    unwrapped, optimizer, expected = _step_once(torch_internals.step_function)
    assert unwrapped != optimizer.step  # today: the optimiser's own update, minus the wrapper
    monkeypatch.setattr(torch_internals, "_OPTIMIZER_HOOKS",  # as if a torch renamed them
                        ("_renamed_pre_hooks", "_renamed_post_hooks"))
    assert "torch.optim.optimizer._renamed_pre_hooks" in torch_internals.missing()
    step, optimizer, weight = _step_once(torch_internals.step_function)
    assert step == optimizer.step  # cannot tell whether hooks wait there: the wrapped step
    assert torch.equal(weight, expected)


def test_without_the_cached_wrappers_the_compiler_is_imported_as_torch_does(monkeypatch):
    """``skip_dynamo_import`` leaves functions it cannot reach alone: optimisers still work."""
    monkeypatch.setattr(torch_internals, "_DISABLED", ("no_such_method",))
    torch_internals.skip_dynamo_import()
    _, _, weight = _step_once(lambda optimizer: optimizer.step)
    assert torch.isfinite(weight).all()


def test_hydra_still_keeps_its_basic_sweeper_where_grids_was_written_for():
    gone = hydra_internals.missing()
    import hydra
    assert gone == [], (f"hydra-core {hydra.__version__} lacks {gone} (written for "
                        f"{hydra_internals.WRITTEN_FOR}): the grids sweeper finds the basic "
                        "sweeper by plugin discovery instead; update hydra_internals.py")


def test_where_the_private_module_is_gone_plugin_discovery_finds_the_basic_sweeper():
    found = hydra_internals.basic_sweeper("no.such.module")  # as a release that moved it
    assert found is hydra_internals.basic_sweeper() and found.__name__ == "BasicSweeper"
    assert all(hasattr(found, name) for name in hydra_internals.USED)
