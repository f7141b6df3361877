"""Networks a user might write, for tests/test_user_networks.py: plain nn.Modules that know
nothing of genlab, importable by name (tests/ is on the path under pytest)."""

from __future__ import annotations

from torch import nn


class TinyEncoder(nn.Module):
    """Images [B, 1, 28, 28] -> [B, outputs]: a VAE's 2p means and log-variances, an autoencoder's p codes."""

    def __init__(self, outputs: int, width: int = 64):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, width), nn.ReLU(), nn.Linear(width, outputs))

    def forward(self, x):
        return self.net(x)


class TinyDecoder(nn.Module):
    """Codes [B, p] -> Bernoulli logits [B, 1, 28, 28]."""

    def __init__(self, latent_dim: int, width: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent_dim, width), nn.ReLU(), nn.Linear(width, 784), nn.Unflatten(1, (1, 28, 28))
        )

    def forward(self, z):
        return self.net(z)


class TinyGenerator(nn.Module):
    """Noise [B, z_dim] -> image logits [B, 784]."""

    def __init__(self, z_dim: int, width: int = 64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(z_dim, width), nn.LeakyReLU(0.2), nn.Linear(width, 784))

    def forward(self, z):
        return self.net(z)


class TinyDiscriminator(nn.Module):
    """Images [B, 1, 28, 28] -> logits [B, 1]."""

    def __init__(self, width: int = 64):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, width), nn.LeakyReLU(0.2), nn.Linear(width, 1))

    def forward(self, x):
        return self.net(x)
