"""What the tests share: composing the apps' configs as Hydra would, running an entry point as a
user would, a signal that arrives on cue, and writers of small real data files."""

import gzip
import os
import signal
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir

from experiments.cli import prepare_hydra
from experiments.config_groups import CONF_DIR
from reducers.interrupt import StopRequest

ROOT = Path(__file__).resolve().parents[1]
SHARED_T10K = ROOT.parent / "shared" / "data" / "mnist-t10k"
# a tiny training run: 1,000 digits, a small network, two epochs
TINY = ["trainer.epochs=2", "data.limit=1000", "model.net.hidden=[64]", "trainer.progress=false"]


def composer(config_name: str, **kwargs):
    """compose(*overrides) of one of the apps' root configs (train, anomaly, embed)."""
    prepare_hydra()

    def _compose(*overrides: str):
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return compose(config_name=config_name, overrides=list(overrides), **kwargs)
    return _compose


def user_env() -> dict:
    """The environment a user's command runs in: unbuffered, without HYDRA_FULL_ERROR."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("HYDRA_FULL_ERROR", None)
    return env


def run_cli(*args: str, module: str = "experiments.train", timeout: int = 300):
    """Run an entry point as a user would; returns the CompletedProcess."""
    env = user_env()
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


WITHOUT = """
import sys
class Missing:  # an import hook: these packages are not installed
    def find_spec(self, name, path=None, target=None):
        if any(name == m or name.startswith(m + ".") for m in {modules!r}):
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Missing())
sys.argv = ["{module}", *sys.argv[1:]]
from {module} import cli
cli()
"""


def trained_run(tmp_path_factory, name: str, *args: str) -> Path:
    """A finished run's folder, trained through the command line with ``args`` (for a
    module-scoped fixture)."""
    run = tmp_path_factory.mktemp(name) / "run"
    proc = run_cli(*args, f"hydra.run.dir={run}")
    assert proc.returncode == 0, proc.stderr
    return run


def run_cli_read_only(folder: Path, *args: str):
    """``run_cli`` with ``folder`` mounted read-only for that command alone (in its own mount
    namespace), as a folder on a read-only share; the test is skipped where this machine
    cannot make such a mount (not root, no ``unshare``): permissions do not stop root."""
    mount = (f"mount --bind {folder} {folder} && mount -o remount,ro,bind {folder} && "
             f"touch {folder}/.probe 2>/dev/null && exit 99; ")
    trial = subprocess.run(["unshare", "-m", "sh", "-c", mount + "exit 0"], capture_output=True)
    if trial.returncode != 0:
        pytest.skip("this machine cannot mount a folder read-only (needs root and unshare)")
    env = user_env()
    return subprocess.run(["unshare", "-m", "sh", "-c", mount + 'exec "$@"', "sh", sys.executable,
                           "-m", "experiments.train", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def run_cli_without(modules: list[str], *args: str, module: str = "experiments.train"):
    """``run_cli`` in a Python where ``modules`` (and their submodules) cannot be imported, as
    on a machine without an optional extra."""
    env = user_env()
    code = WITHOUT.format(modules=list(modules), module=module)
    return subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def vae_killing_its_worker_at_beta_2(**kwargs):
    """A ``model._target_`` for sweeps: the VAE, except that at beta 2 the job kills its own
    process, as the out-of-memory killer would (a job that breaks its worker every time)."""
    from reducers.vae import VAE
    if kwargs["kl"].beta == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return VAE(**kwargs)


class StopAfter(StopRequest):
    """A SIGTERM that arrives when the training loop asks for the ``n``-th time."""

    def __init__(self, n: int):
        super().__init__()
        self.asked, self.n = 0, n

    def __bool__(self) -> bool:
        self.asked += 1
        if self.asked >= self.n:
            self.signum = signal.SIGTERM
        return super().__bool__()


def without_timings(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k not in ("train_seconds", "samples_per_second")}


def stopped_then_resumed(compose_train, settings: list[str], folder: Path, stop_after: int,
                         epochs: int) -> dict:
    """Train ``settings`` in ``folder``/run, stopped by a signal at the ``stop_after``-th step
    and resumed, and again in ``folder``/straight without a stop; check that both end after
    ``epochs`` epochs with the same weights and metrics. Returns the stopped run's record."""
    from experiments.train import train
    from reducers.checkpoint import load_checkpoint

    stopped = train(compose_train(*settings), folder / "run", StopAfter(stop_after))
    assert stopped.status == "interrupted" and 1 <= stopped.epochs_completed < epochs
    resumed = train(compose_train(*settings, "trainer.resume=true"), folder / "run")
    straight = train(compose_train(*settings), folder / "straight")
    a, b = load_checkpoint(folder / "run"), load_checkpoint(folder / "straight")
    assert a["epoch"] == b["epoch"] == epochs
    assert all(torch.equal(a["model"][name], b["model"][name]) for name in b["model"])
    assert without_timings(resumed.metrics) == without_timings(straight.metrics)
    return stopped


def fit(model, optimizer, x, *, seed=0, x_val=None, x_test=None, augment=None, **settings):
    """The library's trainer as these tests call it: ``TrainerSettings(**settings)``, without
    the progress bar unless asked for."""
    from reducers.trainer import Trainer
    from reducers.trainer_settings import TrainerSettings
    settings = {"progress": False, **settings}
    return Trainer(TrainerSettings(**settings), augment=augment).fit(
        model, optimizer, x, seed=seed, x_val=x_val, x_test=x_test)


def plain_loop(model, optimizer, x, epochs, batch_size, seed):
    """The textbook loop: the trainer's permutations, autograd, one step per batch; the mean
    loss of each epoch."""
    generator = torch.Generator().manual_seed(seed)
    curve = []
    for _ in range(epochs):
        perm, total = torch.randperm(len(x), generator=generator), 0.0
        for start in range(0, len(x), batch_size):
            xb = x[perm[start:start + batch_size]]
            loss = model.loss(xb)["total"]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
        curve.append(total / len(x))
    return curve


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array in IDX: 00 00 08 rank, big-endian sizes, the bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx_folder(folder: Path, images: dict, labels: dict, gz: bool = True) -> Path:
    """images/labels: {"train": array, "t10k": array}; images (N, h, w) uint8."""
    folder.mkdir(parents=True, exist_ok=True)
    for split in images:
        for kind, array, rank in (("images", images[split], 3), ("labels", labels[split], 1)):
            data = idx_bytes(array)
            name = f"{split}-{kind}-idx{rank}-ubyte" + (".gz" if gz else "")
            (folder / name).write_bytes(gzip.compress(data) if gz else data)
    return folder


def tsv_text(pixels: np.ndarray, labels: np.ndarray) -> str:
    """The blog's format, with a comment and a blank line as a hand-made file would have."""
    lines = ["# pixels 0-255 then the label", ""]
    lines += ["\t".join(map(str, row)) + f"\t{label}" for row, label in zip(pixels, labels)]
    return "\n".join(lines) + "\n"
