"""The blog's training loop, re-implemented faithfully, and ours at the same configuration:
VAE 784-400-[2,2]-2-400-784, SGD lr 0.01, batch 10, loss = mse_loss(mean) + batch-summed KL."""

import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from reducers import VAE, fit


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
            loss = F.mse_loss(recon, xb) - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            opt.zero_grad()
            loss.backward()
            opt.step()
    return (time.perf_counter() - started) / epochs


def engine_epoch_seconds(x: torch.Tensor, epochs: int, seed: int) -> float:
    torch.manual_seed(seed)
    model = VAE(input_dim=784, hidden=[400], recon="mse", kl_scaling="seed")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, fused=True)  # our default
    result = fit(model, optimizer, x, epochs=epochs,
                 batch_size=10, seed=seed, progress=False)
    return result.train_seconds / epochs
