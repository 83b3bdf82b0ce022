"""The engine against its peers on the default configuration (VAE 784-512-256-2, BCE, Adam
lr 1e-3, batch 128, the default data's 4,000 training images): a textbook PyTorch loop
(Dataset + DataLoader + autograd + ``torch.optim.Adam``) and pythae's ``BaseTrainer`` on the
same network (when pythae, the optional ``[peers]`` extra, is installed).

Each is timed over its training steps only: no evaluation, no checkpoints, no set-up. The
denormal mode is a process-wide setting that torch's worker threads copy when they start, so
each measurement runs in a child process that sets it first:

    python -m experiments.benchmark_peers --flush-denormal 1 [--epochs 50] [--limit N]

prints one JSON line, {peer: seconds}. ``experiments.benchmark`` runs it with the engine's
setting (flushed) and PyTorch's default (not), which is how the peers run for their users.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from experiments.benchmark_loops import Digits  # a Dataset of rows, item by item

ROOT = Path(__file__).resolve().parents[1]
HIDDEN = (512, 256)
LATENT, BATCH, LR = 2, 128, 1e-3


def mlp(sizes: list[int]) -> nn.Sequential:
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])  # no activation after the last layer


class TextbookVAE(nn.Module):
    """The VAE as the PyTorch tutorials write it, at the default configuration's sizes."""

    def __init__(self, input_dim: int):
        super().__init__()
        self.body = nn.Sequential(mlp([input_dim, *HIDDEN]), nn.ReLU())
        self.head = nn.Linear(HIDDEN[-1], 2 * LATENT)
        self.decoder = mlp([LATENT, *reversed(HIDDEN), input_dim])

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        mu, logvar = self.head(self.body(x)).chunk(2, dim=1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        recon = F.binary_cross_entropy_with_logits(self.decoder(z), x, reduction="sum")
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return (recon + kl) / len(x)


def textbook_seconds(x: torch.Tensor, epochs: int, seed: int) -> float:
    torch.manual_seed(seed)
    model = TextbookVAE(x.shape[1])
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loader = DataLoader(Digits(x), batch_size=BATCH, shuffle=True)
    started = time.perf_counter()
    for _ in range(epochs):
        for xb in loader:
            loss = model.loss(xb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return time.perf_counter() - started


def engine_seconds(x: torch.Tensor, epochs: int, seed: int) -> float:
    """As ``python -m experiments.train`` runs it: the hand-written backward pass, fused Adam."""
    from reducers import MLP, VAE, Trainer, TrainerSettings

    torch.manual_seed(seed)
    model = VAE(input_dim=x.shape[1], net=MLP(hidden=list(HIDDEN)), latent_dim=LATENT)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, fused=True)
    trainer = Trainer(TrainerSettings(epochs=epochs, batch_size=BATCH, progress=False))
    return trainer.fit(model, optimizer, x, seed=seed).train_seconds


def pythae_seconds(x: torch.Tensor, epochs: int, seed: int, workdir: str) -> float:
    """pythae's VAE with the same encoder and decoder, through its ``BaseTrainer``'s own epoch
    loop (``train_step``: its DataLoader, forward, loss, ``optimizer.step``)."""
    import logging

    from pythae.data.datasets import BaseDataset
    from pythae.models import VAE as PythaeVAE
    from pythae.models import VAEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder
    from pythae.trainers import BaseTrainer, BaseTrainerConfig

    logging.getLogger("pythae").setLevel(logging.WARNING)

    class Encoder(BaseEncoder):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(mlp([x.shape[1], *HIDDEN]), nn.ReLU())
            self.head = nn.Linear(HIDDEN[-1], 2 * LATENT)

        def forward(self, images):
            mu, logvar = self.head(self.body(images.flatten(1))).chunk(2, dim=1)
            return ModelOutput(embedding=mu, log_covariance=logvar)

    class Decoder(BaseDecoder):
        def __init__(self):
            super().__init__()
            self.net = mlp([LATENT, *reversed(HIDDEN), x.shape[1]])

        def forward(self, z):
            return ModelOutput(reconstruction=torch.sigmoid(self.net(z)).view(-1, 1, 28, 28))

    torch.manual_seed(seed)
    config = VAEConfig(input_dim=(1, 28, 28), latent_dim=LATENT, reconstruction_loss="bce")
    model = PythaeVAE(config, encoder=Encoder(), decoder=Decoder())
    trainer = BaseTrainer(model, BaseDataset(x.view(-1, 1, 28, 28), torch.zeros(len(x))),
                          training_config=BaseTrainerConfig(
                              output_dir=workdir, num_epochs=epochs, learning_rate=LR,
                              per_device_train_batch_size=BATCH, seed=seed, no_cuda=True))
    trainer.prepare_training()
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        trainer.train_step(epoch)
    return time.perf_counter() - started


def measure(repeats: int, epochs: int, limit: int | None, threads: int, workdir: Path) -> dict:
    """Seconds of each peer (median of ``repeats`` child processes per denormal mode, the two
    modes alternating), and the engine's speed-ups: as shipped (flushed) against each peer as
    its users run it (PyTorch's default), and like for like in each mode."""
    runs = {flush: [] for flush in (1, 0)}
    for _ in range(repeats):
        for flush, results in runs.items():
            child = subprocess.run(
                [sys.executable, "-m", "experiments.benchmark_peers", "--flush-denormal",
                 str(flush), "--epochs", str(epochs), "--threads", str(threads),
                 "--workdir", str(workdir), *(["--limit", str(limit)] if limit else [])],
                cwd=ROOT, check=True, capture_output=True, text=True)
            results.append(json.loads(child.stdout.strip().splitlines()[-1]))
    seconds = {("flushed" if flush else "default"): {
        peer: statistics.median(r[peer] for r in results) for peer in results[0]}
        for flush, results in runs.items()}
    shipped = seconds["flushed"]["engine"]
    speedup = {f"{peer}_as_shipped": seconds["default"][peer] / shipped
               for peer in seconds["default"] if peer != "engine"}
    for mode, row in seconds.items():
        speedup.update({f"{peer}_{mode}": row[peer] / row["engine"] for peer in row
                        if peer != "engine"})
    return {"epochs": epochs, "images": limit or 4000, "seconds": seconds, "speedup": speedup,
            "pythae": have_pythae() or "not installed: pip install -c constraints.txt "
                                       "-e '.[peers]'"}


def have_pythae() -> bool:
    import importlib.util
    return importlib.util.find_spec("pythae") is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.benchmark_peers")
    parser.add_argument("--flush-denormal", type=int, choices=(0, 1), required=True)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--limit", type=int, default=None, help="training images (all: 4,000)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", default=".")
    args = parser.parse_args(argv)
    torch.set_flush_denormal(bool(args.flush_denormal))  # before any parallel work
    if args.threads:
        torch.set_num_threads(args.threads)
    from reducers import load_mnist5k

    x = torch.from_numpy(np.array(load_mnist5k().x_train[:args.limit]))
    seconds = {"engine": engine_seconds(x, args.epochs, args.seed),
               "textbook": textbook_seconds(x, args.epochs, args.seed)}
    if have_pythae():
        seconds["pythae"] = pythae_seconds(x, args.epochs, args.seed, args.workdir)
    print(json.dumps(seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
