"""Models with an encoder and a decoder (autoencoders, VAEs) measured the same way on the same test images.

Each family keeps its own training loss (squared error per pixel for an autoencoder, nats per image for a
VAE), so their own summaries cannot be set side by side. Here every model is measured by one yardstick:
the reconstruction x^ = decode(encode(x)) of the same test images (for a VAE the posterior mean decoded to
Bernoulli means), the 5-NN accuracy of the same codes, and the judge's view of images decoded along straight
lines between the codes of the same pairs of test images: its confidence, and the share it cannot recognise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

INTERPOLATION_T = (0.25, 0.5, 0.75)  # points strictly between the endpoints: the endpoints are reconstructions


@dataclass
class SameImages:
    """One model's numbers on the shared test images.

    test_mse: mean squared error per pixel (pixels in [0, 1]); test_bce_nats: binary cross-entropy summed
    over the pixels of an image, in nats, averaged over images; knn_accuracy: 5-NN accuracy of test codes
    against training codes; interpolation_confidence: the judge's mean top-class probability of the images
    decoded at INTERPOLATION_T between the codes of each pair; interpolation_unrecognisable_share: the
    fraction of those images whose top probability is below the judge's threshold (about 0.01 for real test
    images); images, pairs: how many were used."""

    test_mse: float
    test_bce_nats: float
    knn_accuracy: float
    interpolation_confidence: float
    interpolation_unrecognisable_share: float
    images: int
    pairs: int

    def to_dict(self) -> dict:
        return asdict(self)


def interpolation_pairs(count: int, available: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (start [P], end [P]) of `count` pairs among the first `available` test images: image i
    with image i + count, so every model interpolates between the same images."""
    count = min(count, available // 2)
    return np.arange(count), np.arange(count, 2 * count)


@torch.no_grad()
def measure(
    family, model, judge, images: int = 2000, pairs: int = 200, train_codes: int = 5000, k: int = 5
) -> SameImages:
    """`model` (a family with encode and decode) on the first `images` test images of its data, the
    interpolations between `pairs` pairs of them judged by `judge` (genlab.judge.Judge)."""
    from genlab.judge import sample_quality
    from genlab.latent.embed import encode_split, knn_accuracy

    data = family.data
    n = min(images, len(data.test))
    x = data.test.inputs(slice(0, n)).float()
    # One encoding of the test images serves the reconstructions, the 5-NN accuracy and the interpolations.
    test_z = encode_split(family, model, data.test, limit=n)
    codes = torch.as_tensor(test_z, device=x.device)
    reconstruction = (
        torch.cat([family.decode(model, codes[s : s + 1000]).float() for s in range(0, n, 1000)])
        .reshape(x.shape)
        .clamp(0, 1)
    )
    mse = F.mse_loss(reconstruction, x).item()
    bce = F.binary_cross_entropy(reconstruction, x, reduction="sum").item() / n
    train_z = encode_split(family, model, data.train, limit=train_codes)
    accuracy = knn_accuracy(
        train_z, data.train.y[: len(train_z)].cpu().numpy(), test_z, data.test.y[:n].cpu().numpy(), k=k
    )
    start, end = interpolation_pairs(pairs, n)
    z_a, z_b = codes[start], codes[end]
    decoded = torch.cat([family.decode(model, (1 - t) * z_a + t * z_b) for t in INTERPOLATION_T])
    quality = sample_quality(judge, decoded.float().cpu())
    return SameImages(
        mse,
        bce,
        accuracy,
        quality["sample_mean_confidence"],
        quality["sample_unrecognisable_share"],
        n,
        len(start),
    )


def crossfade_confidence(data, judge, images: int = 2000, pairs: int = 200) -> dict[str, dict[str, float]]:
    """The judge's view of the real images of the pairs (its ceiling) and of their pixel-space blends
    (1 - t) x_a + t x_b at INTERPOLATION_T (what interpolating without a model gives), the two yardsticks
    for `measure`'s interpolation numbers: {"real": ..., "crossfade": ...}, each {"confidence": mean top
    probability, "unrecognisable_share": fraction below the judge's threshold}."""
    from genlab.judge import sample_quality

    n = min(images, len(data.test))
    start, end = interpolation_pairs(pairs, n)
    x_a, x_b = (data.test.inputs(torch.as_tensor(rows)).float().cpu() for rows in (start, end))
    blends = torch.cat([(1 - t) * x_a + t * x_b for t in INTERPOLATION_T])
    judged = {"real": sample_quality(judge, torch.cat([x_a, x_b])), "crossfade": sample_quality(judge, blends)}
    return {
        name: {"confidence": q["sample_mean_confidence"], "unrecognisable_share": q["sample_unrecognisable_share"]}
        for name, q in judged.items()
    }
