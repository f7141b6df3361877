"""Optimised latent paths between two images through a frozen generator.

Two images x_A and x_B are inverted to latents z_A and z_B; a path Z(t) from
z_A to z_B is sought that minimises

    U[Z] = integral_0^1 f(Z(t)) ||dZ/dt|| dt,   f(z) = ||G(z) - x_A||^2 + ||G(z) - x_B||^2,

a line integral of f along the path (so U does not depend on how the path is
parametrised). The discretisation (see docs/gan.md):

* The path is a polyline through nodes Z_0 = z_A, Z_1..Z_K, Z_{K+1} = z_B.
* U is approximated by the trapezoid rule on every segment:
      U_K = sum_k (f(Z_k) + f(Z_{k+1})) / 2 * ||Z_{k+1} - Z_k||.
* The K interior nodes are moved by Adam on U_K. Because U is a line integral,
  nodes could slide along the path without changing it and bunch up, leaving
  long unsampled segments; so every few steps the nodes are redistributed to
  equal latent arc length along the current polyline (the "string method").
* The result is checked on a refined polyline (each segment cut into
  REFINE pieces), which would expose a path that cheats between nodes.

The straight line is the same polyline with evenly spaced nodes on the chord.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from genlab.errors import GenlabError
from genlab.latent.invert import frozen, invert, load_gan_run, parse_indices, test_targets

REFINE = 8  # pieces per segment when checking a path on a finer polyline
REPARAMETRISE_EVERY = 10  # optimisation steps between redistributions of the nodes


def node_energies(
    generator, nodes: torch.Tensor, xa: torch.Tensor, xb: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(f at every node [M], decoded images [M, C, H, W]) for nodes [M, d]; f in squared pixel units."""
    images = generator.decode(nodes)
    flat = images.flatten(1)
    f = (flat - xa.flatten()).pow(2).sum(1) + (flat - xb.flatten()).pow(2).sum(1)
    return f, images


def trapezoid_energy(f: torch.Tensor, nodes: torch.Tensor) -> torch.Tensor:
    """U_K = sum_k (f_k + f_{k+1}) / 2 * ||Z_{k+1} - Z_k|| for f [M] at nodes [M, d]."""
    lengths = (nodes[1:] - nodes[:-1]).norm(dim=1)
    return ((f[:-1] + f[1:]) / 2 * lengths).sum()


def refine(nodes: torch.Tensor, pieces: int = REFINE) -> torch.Tensor:
    """The same polyline with every segment cut into `pieces` equal parts: [(M - 1) * pieces + 1, d]."""
    t = torch.arange(pieces, device=nodes.device, dtype=nodes.dtype).view(1, pieces, 1) / pieces
    inner = nodes[:-1, None] + t * (nodes[1:] - nodes[:-1])[:, None]
    return torch.cat([inner.reshape(-1, nodes.shape[1]), nodes[-1:]])


def equal_arc_length(nodes: torch.Tensor) -> torch.Tensor:
    """The nodes [M, d] moved along their polyline to equal spacing in arc length (endpoints fixed)."""
    lengths = (nodes[1:] - nodes[:-1]).norm(dim=1)
    cumulative = torch.cat([lengths.new_zeros(1), lengths.cumsum(0)])
    wanted = torch.linspace(0, float(cumulative[-1]), len(nodes), device=nodes.device, dtype=nodes.dtype)
    segment = (torch.searchsorted(cumulative, wanted, right=True) - 1).clamp(0, len(lengths) - 1)
    fraction = ((wanted - cumulative[segment]) / lengths[segment].clamp_min(1e-12)).clamp(0, 1)
    moved = nodes[segment] + fraction[:, None] * (nodes[segment + 1] - nodes[segment])
    moved[0], moved[-1] = nodes[0], nodes[-1]
    return moved


def straight_nodes(za: torch.Tensor, zb: torch.Tensor, points: int) -> torch.Tensor:
    """[points + 2, d]: z_A, `points` evenly spaced interior nodes, z_B."""
    t = torch.linspace(0, 1, points + 2, device=za.device, dtype=za.dtype)[:, None]
    return za + t * (zb - za)


@torch.no_grad()
def path_numbers(generator, nodes: torch.Tensor, xa: torch.Tensor, xb: torch.Tensor) -> dict:
    """U, decoded image-space length and latent length of a polyline, on its nodes and refined."""
    f, images = node_energies(generator, nodes, xa, xb)
    fine = refine(nodes)
    f_fine, images_fine = node_energies(generator, fine, xa, xb)

    def image_length(decoded):
        return float((decoded[1:] - decoded[:-1]).flatten(1).norm(dim=1).sum())

    return {
        "U": float(trapezoid_energy(f, nodes)),
        "U_refined": float(trapezoid_energy(f_fine, fine)),
        "image_length": image_length(images),
        "image_length_refined": image_length(images_fine),
        "latent_length": float((nodes[1:] - nodes[:-1]).norm(dim=1).sum()),
    }


@dataclass
class OptimisedPath:
    """nodes [K+2, d] of the best path found; history: U_K after every step."""

    nodes: torch.Tensor
    history: list[float]


def optimise_path(
    generator,
    za: torch.Tensor,
    zb: torch.Tensor,
    xa: torch.Tensor,
    xb: torch.Tensor,
    points: int,
    steps: int = 300,
    lr: float = 0.05,
) -> OptimisedPath:
    """Minimise U_K over the `points` interior nodes, starting from the straight line.

    Adam (cosine decay from `lr` to lr/100; `lr` is a step size as a fraction of the straight
    path's node spacing) on the interior nodes, redistributed to
    equal arc length every REPARAMETRISE_EVERY steps. Returns the lowest-U_K path
    seen, so the result is never worse than the straight line under U_K.
    """
    if points < 1:
        raise GenlabError(f"--points must be >= 1, got {points}")
    generator = frozen(generator)
    nodes = straight_nodes(za, zb, points)
    interior = nodes[1:-1].clone().requires_grad_(True)
    # Adam moves every coordinate by about its learning rate, so a node moves about lr * sqrt(d):
    # scaling by spacing / sqrt(d) makes `lr` the step as a fraction of the straight path's node spacing.
    spacing = float((zb - za).norm()) / (points + 1)
    optimizer = torch.optim.Adam([interior], lr=lr * spacing / math.sqrt(za.numel()))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(step, steps) / steps))
    )
    with torch.no_grad():
        best_u = float(trapezoid_energy(node_energies(generator, nodes, xa, xb)[0], nodes))
    best, history = nodes.clone(), [best_u]
    for step in range(steps):
        with torch.enable_grad():
            current = torch.cat([za[None], interior, zb[None]])
            energy = trapezoid_energy(node_energies(generator, current, xa, xb)[0], current)
            optimizer.zero_grad(set_to_none=True)
            energy.backward()
        optimizer.step()
        schedule.step()
        with torch.no_grad():
            if (step + 1) % REPARAMETRISE_EVERY == 0:
                interior.copy_(equal_arc_length(torch.cat([za[None], interior, zb[None]]))[1:-1])
            current = torch.cat([za[None], interior, zb[None]])
            value = float(trapezoid_energy(node_energies(generator, current, xa, xb)[0], current))
        history.append(value)
        if value < best_u:
            best_u, best = value, current.clone()
    return OptimisedPath(best, history)


def projection_2d(za: torch.Tensor, zb: torch.Tensor, *paths: torch.Tensor) -> tuple[list[np.ndarray], tuple[str, str]]:
    """Coordinates [M, 2] of each path: along the chord z_B - z_A (0 at A, |z_B - z_A| at B) and
    along the direction in which the last path departs most from the chord."""
    chord = (zb - za) / (zb - za).norm()
    offsets = paths[-1] - za
    departure = offsets - (offsets @ chord)[:, None] * chord
    if departure.norm() > 1e-9:
        second = torch.linalg.svd(departure, full_matrices=False).Vh[0]
    else:  # the path is the chord itself: any orthogonal direction will do
        second = torch.zeros_like(chord)
        second[int(chord.abs().argmin())] = 1.0
        second = second - (second @ chord) * chord
        second = second / second.norm()
    coordinates = [torch.stack([(p - za) @ chord, (p - za) @ second], 1).cpu().numpy() for p in paths]
    return coordinates, ("latent coordinate along z_B - z_A", "orthogonal: largest departure of the optimised path")


def path_run(
    run_path,
    source: int,
    target: int,
    points: int = 8,
    steps: int = 300,
    restarts: int = 4,
    invert_steps: int = 500,
    lr: float = 0.05,
    seed: int = 0,
    device: str = "auto",
) -> tuple[dict, object, object]:
    """`genlab path`: the straight and the optimised latent path between test images `source` and `target`.

    Writes figures/path_A_B.png and path_A_B.json into the run folder; returns
    (numbers, figure path, JSON path).
    """
    from genlab.plots.gan import path_figure
    from genlab.train.runfolder import atomic_write_json

    loaded = load_gan_run(run_path, device, "path")
    size = len(loaded.family.data.test)
    indices = [parse_indices(str(i), size, flag)[0] for i, flag in ((source, "--from"), (target, "--to"))]
    generator = loaded.family.presented_generator(loaded.model)
    images, labels = test_targets(loaded, indices)
    inversion = invert(generator, images, labels, restarts, invert_steps, seed=seed)
    za, zb = inversion.best_latents()
    xa, xb = images
    straight = straight_nodes(za, zb, points)
    optimised = optimise_path(generator, za, zb, xa, xb, points, steps, lr)
    numbers = {
        "straight": path_numbers(generator, straight, xa, xb),
        "optimised": path_numbers(generator, optimised.nodes, xa, xb),
    }
    report = {
        "run": str(loaded.run.path),
        "model": loaded.config.model,
        "from": indices[0],
        "to": indices[1],
        "points": points,
        "steps": steps,
        "lr": lr,
        "seed": seed,
        "endpoint_inversion_losses": inversion.losses.min(1).values.tolist(),
        "energy": "U = integral [||G(Z)-x_A||^2 + ||G(Z)-x_B||^2] ||dZ/dt|| dt, trapezoid rule on the nodes; "
        f"*_refined: each segment cut into {REFINE}",
        **numbers,
        "U_ratio_optimised_to_straight": numbers["optimised"]["U"] / numbers["straight"]["U"],
    }
    with torch.no_grad():
        strip_straight = generator.decode(straight).cpu().numpy()
        strip_optimised = generator.decode(optimised.nodes).cpu().numpy()
    coordinates, axis_labels = projection_2d(za, zb, straight, optimised.nodes)
    figure = path_figure(
        strip_straight,
        strip_optimised,
        coordinates[0],
        coordinates[1],
        optimised.history,
        numbers,
        f"Latent paths from test image {indices[0]} to {indices[1]} through "
        f"{loaded.config.model} ({points} interior points)",
        axis_labels,
    )
    name = f"path_{indices[0]}_{indices[1]}"
    figure_path = loaded.run.save_figure(
        figure,
        f"{name}.png",
        caption=f"the straight line and the optimised latent path from test image {indices[0]} (A) to "
        f"{indices[1]} (B) through {loaded.config.model}: the decoded images of both, both paths projected "
        "to 2-D, and the discretised energy U of the optimised path during optimisation against that of "
        "the straight line",
    )
    json_path = loaded.run.path / f"{name}.json"
    atomic_write_json(json_path, report)
    return report, figure_path, json_path
