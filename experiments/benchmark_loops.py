"""The blog's training loop, re-implemented faithfully, and ours at the same configuration:
VAE 784-400-[2,2]-2-400-784, SGD lr 0.01, batch 10, loss = mse_loss(mean) + batch-summed KL."""

import os
import tempfile
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from reducers import MLP, VAE, KLWeighting, Trainer, TrainerSettings
from reducers.losses import kl_divergence


class BlogVAE(nn.Module):
    """The blog's network: separate 400->2 heads for mu and logvar."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc21, self.fc22 = nn.Linear(784, 400), nn.Linear(400, 2), nn.Linear(400, 2)
        self.fc3, self.fc4 = nn.Linear(2, 400), nn.Linear(400, 784)

    def forward(self, x):
        h = F.relu(self.fc1(x))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar


class Digits(Dataset):
    def __init__(self, x: torch.Tensor):
        self.x = x

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i]


def blog_epoch_seconds(x: torch.Tensor, epochs: int, seed: int) -> float:
    torch.manual_seed(seed)
    model = BlogVAE()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loader = DataLoader(Digits(x), batch_size=10, shuffle=True)
    started = time.perf_counter()
    for _ in range(epochs):
        for xb in loader:
            recon, mu, logvar = model(xb)
            loss = F.mse_loss(recon, xb) + kl_divergence(mu, logvar)  # summed over the batch
            opt.zero_grad()
            loss.backward()
            opt.step()
    return (time.perf_counter() - started) / epochs


def blog_model(seed: int) -> tuple[VAE, torch.optim.Optimizer]:
    """The blog's configuration as this project builds it (experiment=blog_vae)."""
    torch.manual_seed(seed)
    model = VAE(input_dim=784, net=MLP(hidden=[400]), recon="mse",
                kl=KLWeighting(scaling="blog"))
    return model, torch.optim.SGD(model.parameters(), lr=0.01, fused=True)  # as configured


def engine_epoch_seconds(x: torch.Tensor, epochs: int, seed: int,
                         backward: str = "manual") -> float:
    model, optimizer = blog_model(seed)
    settings = TrainerSettings(epochs=epochs, batch_size=10, progress=False, backward=backward)
    result = Trainer(settings).fit(model, optimizer, x, seed=seed)
    return result.train_seconds / epochs


def compiled_epoch_seconds(x: torch.Tensor, epochs: int, seed: int) -> tuple[float, float]:
    """torch.compile of the engine's whole step (forward, hand-written backward, update) at
    the blog configuration: (seconds to compile, seconds per epoch after it)."""
    model, optimizer = blog_model(seed)
    step = model.manual_step(optimizer)

    def train_step(xb: torch.Tensor) -> torch.Tensor:
        total = step.loss(xb)["total"]
        step.step()
        return total

    compiled = torch.compile(train_step)
    previous = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    with tempfile.TemporaryDirectory() as cache:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache  # an empty cache: a user's first run
        try:
            started = time.perf_counter()
            compiled(x[:10]).item()
            compile_seconds = time.perf_counter() - started
            generator = torch.Generator().manual_seed(seed)
            started = time.perf_counter()
            for _ in range(epochs):
                shuffled = x[torch.randperm(len(x), generator=generator)]
                for start in range(0, len(x), 10):
                    compiled(shuffled[start:start + 10]).item()
            epoch_seconds = (time.perf_counter() - started) / epochs
        finally:
            if previous is None:
                os.environ.pop("TORCHINDUCTOR_CACHE_DIR")
            else:
                os.environ["TORCHINDUCTOR_CACHE_DIR"] = previous
    return compile_seconds, epoch_seconds
