"""The two players of a GAN: generators (noise -> image) and discriminators (image -> logit).

Every network here optionally takes class labels. A conditional generator
embeds the label and joins the embedding to the noise; a conditional
discriminator joins the embedding to its input (concatenated to the flattened
image for an MLP, as one extra 28x28 input channel for a convolutional one),
unless it has an auxiliary classifier (AC-GAN), which must name the class from
the image alone; the label then reaches D through the projection term only.

A generator's input is its *latent*: the noise z [B, z_dim], joined for a
conditional generator with the label embedding e(y) [B, label_dim]. The latent
is what inversion and latent paths optimise, so `Generator.decode` maps a latent
straight to images and `Generator.latent(z, y)` builds one.

Images are [B, C, 28, 28] with values in (0, 1); discriminators return logits [B]
(the sigmoid is applied inside the losses, which is stable; a Wasserstein
critic's output is used as it is).
"""

from __future__ import annotations

import math

import torch
from torch import nn


def activation(name: str) -> nn.Module:
    """'relu' or 'leaky-relu' (slope 0.2, the usual choice in GANs)."""
    return nn.LeakyReLU(0.2, inplace=True) if name == "leaky-relu" else nn.ReLU(inplace=True)


def feature_norm(kind: str, width: int, conv: bool = False) -> nn.Module:
    """'batch', 'layer' (per example, so it keeps the gradient penalty per-sample) or 'none'."""
    if kind == "batch":
        return nn.BatchNorm2d(width) if conv else nn.BatchNorm1d(width)
    if kind == "layer":
        return nn.GroupNorm(1, width) if conv else nn.LayerNorm(width)
    return nn.Identity()


def init_weights(module: nn.Module) -> None:
    """The DCGAN initialisation: weights N(0, 0.02), norm scales N(1, 0.02), biases 0."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.Embedding)):
            nn.init.normal_(layer.weight, 0.0, 0.02)
            if getattr(layer, "bias", None) is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)):
            nn.init.normal_(layer.weight, 1.0, 0.02)
            nn.init.zeros_(layer.bias)


class Generator(nn.Module):
    """Noise (and label) -> image. Subclasses define `body`: latent [B, latent_dim] -> image logits."""

    def __init__(self, z_dim: int, num_classes: int, label_dim: int, image_shape: tuple[int, int, int]):
        super().__init__()
        self.z_dim = z_dim
        self.image_shape = tuple(image_shape)
        self.embed = nn.Embedding(num_classes, label_dim) if num_classes else None
        self.latent_dim = z_dim + (label_dim if num_classes else 0)

    @property
    def conditional(self) -> bool:
        return self.embed is not None

    def latent(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The generator input [B, latent_dim]: z, joined to the label embedding when conditional."""
        if self.embed is None:
            return z
        return torch.cat([z, self.embed(labels)], dim=1)

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """Images [B, *image_shape] in (0, 1) from latents [B, latent_dim]."""
        return torch.sigmoid(self.body(latent)).view(-1, *self.image_shape)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.decode(self.latent(z, labels))


class MLPGenerator(Generator):
    """latent -> hidden[0] -> ... -> hidden[-1] -> 784 fully connected, with the activation
    (and optionally batch norm) between neighbouring layers; sigmoid outputs."""

    def __init__(
        self,
        z_dim: int,
        hidden: tuple[int, ...],
        act: str,
        batchnorm: bool,
        num_classes: int = 0,
        label_dim: int = 10,
        image_shape=(1, 28, 28),
    ):
        super().__init__(z_dim, num_classes, label_dim, image_shape)
        widths = (self.latent_dim, *hidden)
        layers: list[nn.Module] = []
        for fan_in, fan_out in zip(widths[:-1], widths[1:]):
            layers.append(nn.Linear(fan_in, fan_out))
            if batchnorm:
                layers.append(nn.BatchNorm1d(fan_out))
            layers.append(activation(act))
        layers.append(nn.Linear(widths[-1], math.prod(image_shape)))
        self.body = nn.Sequential(*layers)


class ConvGenerator(Generator):
    """DCGAN-style: fully connected layers up to a 7x7 feature map, then two
    [ConvTranspose (stride 2) -> BatchNorm -> LeakyReLU] blocks to 14x14 and 28x28, and
    a 3x3 convolution to the image channels (sigmoid outputs).

    `channels` = (c7, c14, c28): feature maps at 7x7, 14x14 and 28x28; `fc` is the
    width of the fully connected layer before the 7x7 map (0: none).
    """

    def __init__(
        self,
        z_dim: int,
        channels: tuple[int, int, int],
        fc: int,
        num_classes: int = 0,
        label_dim: int = 10,
        image_shape=(1, 28, 28),
    ):
        super().__init__(z_dim, num_classes, label_dim, image_shape)
        c7, c14, c28 = channels
        widths = (self.latent_dim, fc) if fc else (self.latent_dim,)
        layers: list[nn.Module] = []
        for fan_in, fan_out in zip(widths, (*widths[1:], c7 * 49)):
            layers += [nn.Linear(fan_in, fan_out, bias=False), nn.BatchNorm1d(fan_out), activation("leaky-relu")]
        layers += [
            nn.Unflatten(1, (c7, 7, 7)),
            nn.ConvTranspose2d(c7, c14, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(c14),
            activation("leaky-relu"),
            nn.ConvTranspose2d(c14, c28, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(c28),
            activation("leaky-relu"),
            nn.Conv2d(c28, image_shape[0], 3, padding=1),
        ]
        self.body = nn.Sequential(*layers)


def minibatch_std(
    features: torch.Tensor, parts: tuple[int, ...] | None = None, labels: torch.Tensor | None = None
) -> torch.Tensor:
    """One extra feature per example [B, 1]: the standard deviation of `features` [B, ...] across
    the examples of its group, averaged over features (minibatch standard deviation, Karras et
    al. 2018). A generator that collapses makes it small for its samples, which D can then see.

    Groups never mix the consecutive `parts` of a batch (real and generated images
    sharing one batch; None: one part) and, given `labels` [B], split by class too,
    so that a conditional generator that ignores its noise within a class shows.
    The 1e-8 under the square root keeps the gradient finite when a group is constant.
    """
    flat = features.flatten(1)
    sizes = torch.tensor(parts if parts else (len(flat),), device=flat.device)
    groups = torch.repeat_interleave(torch.arange(len(sizes), device=flat.device), sizes)
    if labels is not None:
        groups = groups * (int(labels.max()) + 1) + labels
    _, member = torch.unique(groups, return_inverse=True)
    count = torch.zeros(int(member.max()) + 1, device=flat.device, dtype=flat.dtype).index_add_(
        0, member, torch.ones_like(flat[:, 0])
    )[:, None]
    mean = (
        torch.zeros(len(count), flat.shape[1], device=flat.device, dtype=flat.dtype).index_add_(0, member, flat) / count
    )
    variance = torch.zeros_like(mean).index_add_(0, member, (flat - mean[member]).pow(2)) / count
    return (variance + 1e-8).sqrt().mean(1)[member].unsqueeze(1)


class UserGenerator(Generator):
    """A user's network `body` (noise [B, z_dim] -> image logits) as an unconditional generator."""

    def __init__(self, body: nn.Module, z_dim: int, image_shape: tuple[int, int, int]):
        super().__init__(z_dim, 0, 0, image_shape)
        self.body = body


class Discriminator(nn.Module):
    """Image (and label) -> one logit per image [B].

    A conditional discriminator with `projection` also adds <p(y), h> to the logit,
    h being its last hidden features and p a second label embedding (the projection
    discriminator of Miyato & Koyama 2018): the label then acts on the verdict
    directly, not only through the input, which makes the generator follow it sooner.
    """

    def __init__(
        self,
        num_classes: int,
        label_dim: int,
        batch_std: bool,
        projection: bool = False,
        features: int = 0,
        classifier: bool = False,
    ):
        super().__init__()
        # The auxiliary classifier of AC-GAN (Odena et al. 2017) names the class from the same features;
        # it must not read the label off its input, so with it the label enters only the verdict.
        self.embed = nn.Embedding(num_classes, label_dim) if num_classes and not classifier else None
        self.batch_std = batch_std
        self.project = nn.Embedding(num_classes, features) if num_classes and projection else None
        self.classify = nn.Linear(features, num_classes) if num_classes and classifier else None

    def verdict(self, h: torch.Tensor, labels: torch.Tensor | None, parts, classes: bool = False):
        """The logit [B] from last hidden features h [B, F] (minibatch feature and projection added);
        with `classes`, the pair (logit, class logits [B, K] of the auxiliary classifier, or None)."""
        projected = (self.project(labels) * h).sum(1) if self.project is not None else 0.0
        class_logits = self.classify(h) if classes and self.classify is not None else None
        if self.batch_std:
            h = torch.cat([h, minibatch_std(h, parts, labels)], dim=1)
        logit = self.head(h).squeeze(1) + projected
        return (logit, class_logits) if classes else logit


class MLPDiscriminator(Discriminator):
    """Dropout on the input, then fully connected 784 (+ label embedding) -> hidden... -> 1,
    with normalisation and the activation between neighbouring layers."""

    def __init__(
        self,
        hidden: tuple[int, ...],
        act: str,
        norm: str,
        dropout: float,
        num_classes: int = 0,
        label_dim: int = 10,
        image_shape=(1, 28, 28),
        batch_std: bool = False,
        projection: bool = False,
        classifier: bool = False,
    ):
        super().__init__(num_classes, label_dim, batch_std, projection, hidden[-1], classifier)
        self.dropout = nn.Dropout(dropout)
        widths = (math.prod(image_shape) + (label_dim if self.embed is not None else 0), *hidden)
        layers: list[nn.Module] = []
        for fan_in, fan_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(fan_in, fan_out), feature_norm(norm, fan_out), activation(act)]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(widths[-1] + int(batch_std), 1)

    def forward(
        self,
        images: torch.Tensor,
        labels: torch.Tensor | None = None,
        parts: tuple[int, ...] | None = None,
        classes: bool = False,
    ):
        h = self.dropout(images.flatten(1))
        if self.embed is not None:
            h = torch.cat([h, self.embed(labels)], dim=1)
        return self.verdict(self.body(h), labels, parts, classes)


class ConvDiscriminator(Discriminator):
    """Two stride-2 4x4 convolutions (28 -> 14 -> 7, `channels` filters) with LeakyReLU and
    normalisation after the second, then a linear layer to one logit. A conditional one
    reads the label embedding as an extra input channel (projected to 28x28)."""

    def __init__(
        self,
        channels: tuple[int, int],
        norm: str,
        num_classes: int = 0,
        label_dim: int = 10,
        image_shape=(1, 28, 28),
        batch_std: bool = False,
        projection: bool = False,
        classifier: bool = False,
    ):
        c14, c7 = channels
        features = c7 * (image_shape[1] // 4) * (image_shape[2] // 4)
        super().__init__(num_classes, label_dim, batch_std, projection, features, classifier)
        in_channels = image_shape[0] + (1 if self.embed is not None else 0)
        self.label_plane = nn.Linear(label_dim, math.prod(image_shape[1:])) if self.embed is not None else None
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, c14, 4, stride=2, padding=1),
            activation("leaky-relu"),
            nn.Conv2d(c14, c7, 4, stride=2, padding=1),
            feature_norm(norm, c7, conv=True),
            activation("leaky-relu"),
            nn.Flatten(),
        )
        self.head = nn.Linear(features + int(batch_std), 1)

    def forward(
        self,
        images: torch.Tensor,
        labels: torch.Tensor | None = None,
        parts: tuple[int, ...] | None = None,
        classes: bool = False,
    ):
        if self.embed is not None:
            plane = self.label_plane(self.embed(labels)).view(-1, 1, *images.shape[2:])
            images = torch.cat([images, plane], dim=1)
        return self.verdict(self.body(images), labels, parts, classes)


class UserDiscriminator(nn.Module):
    """A user's network `body` (images -> one logit each) as an unconditional discriminator: it takes
    the built-in one's arguments (labels, the minibatch split, the classifier flag) and has no use for them."""

    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body

    def forward(
        self,
        images: torch.Tensor,
        labels: torch.Tensor | None = None,
        parts: tuple[int, ...] | None = None,
        classes: bool = False,
    ):
        logit = self.body(images).reshape(len(images))
        return (logit, None) if classes else logit
