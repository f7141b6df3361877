"""Degradations of images that should not change their class: blur, noise, stroke thickness, shifts.

They serve two purposes. Training a classifier on randomly degraded batches
(`random_degradation`, the `cnn --augment degrade` option) makes it label blurry,
noisy, thick, thin or off-centre digits by their shape; without it the judge
called 87-96% of blurred MNIST test digits "1". And the fixed test degradations
(`TEST_DEGRADATIONS`) measure how well a judge keeps the class of degraded real
images.

Every function takes float images [B, C, H, W] in [0, 1] on any device, works on
the whole batch at once, and returns the same shape in [0, 1]. Randomness comes
from an explicit `torch.Generator`, so a seeded CPU run is bit-for-bit repeatable.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

MAX_SHIFT = 2  # pixels in each direction: MNIST digits sit in a 20x20 box centred in 28x28
NOISE_STD = 0.2  # the test noise; training draws stds up to NOISE_STD_MAX
NOISE_STD_MAX = 0.3


def box_blur(x: torch.Tensor) -> torch.Tensor:
    """Each pixel replaced by the mean of its 3x3 neighbourhood (zero padding: the background)."""
    channels = x.shape[1]
    kernel = torch.full((channels, 1, 3, 3), 1 / 9, device=x.device, dtype=x.dtype)
    return F.conv2d(x, kernel, padding=1, groups=channels)


def thicken(x: torch.Tensor) -> torch.Tensor:
    """Grey-level dilation with a 3x3 square: strokes grow by one pixel on each side."""
    return F.max_pool2d(x, 3, stride=1, padding=1)


def thin(x: torch.Tensor) -> torch.Tensor:
    """Grey-level erosion with a 3x3 square: strokes lose one pixel on each side.

    Pooling -x pads with -inf, so the image border counts as stroke, not background; the
    background is 0 and a stroke touching the border is rare, so this changes nothing
    visible."""
    return -F.max_pool2d(-x, 3, stride=1, padding=1)


def add_noise(x: torch.Tensor, std: torch.Tensor | float, generator: torch.Generator | None) -> torch.Tensor:
    """x + N(0, std^2) per pixel, clipped to [0, 1]; `std` a float or [B] per image."""
    std = torch.as_tensor(std, device=x.device, dtype=x.dtype).reshape(-1, *[1] * (x.dim() - 1))
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return (x + std * noise).clamp_(0, 1)


def shift(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor) -> torch.Tensor:
    """Each image moved by whole pixels (dy[b] down, dx[b] right, |d| <= MAX_SHIFT), background filling in.

    One gather from a zero-padded copy: row r of image b reads padded row r + MAX_SHIFT - dy[b]."""
    b, _, h, w = x.shape
    padded = F.pad(x, (MAX_SHIFT,) * 4)
    rows = (torch.arange(h, device=x.device) + MAX_SHIFT - dy[:, None])[:, None, :, None]
    cols = (torch.arange(w, device=x.device) + MAX_SHIFT - dx[:, None])[:, None, None, :]
    batch = torch.arange(b, device=x.device)[:, None, None, None]
    channel = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    return padded[batch, channel, rows, cols]


def random_degradation(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A training batch with each image independently degraded: [B, C, H, W] -> same, in [0, 1].

    Each of four degradations is applied to an image with probability 1/2, in this order:
    stroke thickness (thicken or thin, equally likely), blur (one or two 3x3 box blurs,
    equally likely), a shift of up to MAX_SHIFT pixels each way, and Gaussian noise with a
    std uniform in [0, NOISE_STD_MAX]. So about 1/16 of the images stay clean, and every
    degradation the judge is tested on is seen alone and in combination."""
    b = x.shape[0]

    def chosen(p: float = 0.5) -> torch.Tensor:
        """Which images [B, 1, 1, 1] get a degradation (bool)."""
        return (torch.rand(b, generator=generator, device=x.device) < p).reshape(b, 1, 1, 1)

    thickness, thicker = chosen(), chosen()
    x = torch.where(thickness, torch.where(thicker, thicken(x), thin(x)), x)
    blurred = box_blur(x)
    blur, twice = chosen(), chosen()
    x = torch.where(blur, torch.where(twice, box_blur(blurred), blurred), x)
    moved = chosen().reshape(b)
    dy, dx = torch.randint(-MAX_SHIFT, MAX_SHIFT + 1, (2, b), generator=generator, device=x.device)
    x = shift(x, dy * moved, dx * moved)
    std = torch.rand(b, generator=generator, device=x.device) * NOISE_STD_MAX * chosen().reshape(b)
    return add_noise(x, std, generator)


def _shifted(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    offsets = torch.randint(-MAX_SHIFT, MAX_SHIFT + 1, (2, x.shape[0]), generator=generator, device=x.device)
    return shift(x, *offsets)


#: The degradations a judge is tested on: name -> f(images, generator) -> images.
TEST_DEGRADATIONS: dict[str, Callable[[torch.Tensor, torch.Generator], torch.Tensor]] = {
    "blur": lambda x, g: box_blur(x),
    "noise": lambda x, g: add_noise(x, NOISE_STD, g),
    "thick": lambda x, g: thicken(x),
    "thin": lambda x, g: thin(x),
    "shift": _shifted,
    "blur_noise": lambda x, g: add_noise(box_blur(x), NOISE_STD, g),
}
