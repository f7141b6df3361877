"""PCA and the linear autoencoder (`genlab pca-vs-linear-ae`).

A linear autoencoder x^ = W_d (W_e x + b_e) + b_d trained on the squared error
has, at its optimum, a decoder whose column space is the span of the top-K
principal directions of the centred training data (Baldi & Hornik, 1989); it
need not find the principal directions themselves, only their span, since any
invertible K x K mixing of the code is undone by the decoder. This module
trains one (the `ae` family with no hidden layers, no activation anywhere and
MSE) and measures how close it came: the principal angles between its decoder
subspace and the PCA subspace, and the test reconstruction error of both.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from genlab.errors import GenlabError
from genlab.train.runfolder import atomic_write_json


@dataclass
class SubspaceComparison:
    """principal_angles_deg [K] (largest first), test MSE per coordinate of PCA and of the linear
    autoencoder, the explained-variance ratio of the K components, and where the outputs went."""

    latent_dim: int
    principal_angles_deg: list[float]
    largest_angle_deg: float
    pca_test_mse: float
    linear_ae_test_mse: float
    pca_train_mse: float
    explained_variance_ratio: float
    run: str
    figure: str


def principal_angles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Principal angles (radians, largest first) between the column spaces of a [D, K] and b [D, K]."""
    from scipy.linalg import subspace_angles

    return subspace_angles(a, b)


def pca_reconstruction_mse(pca, x: np.ndarray) -> float:
    """Mean per-coordinate squared error of reconstructing x [N, D] from its top-K PCA scores."""
    return float(np.mean((pca.inverse_transform(pca.transform(x)) - x) ** 2))


def compare_pca_linear_ae(
    data: str,
    latent_dim: int,
    out=None,
    epochs: int = 40,
    lr: float = 1e-2,
    batch_size: int = 128,
    limit: int | None = None,
    seed: int = 0,
    device: str = "auto",
    progress: bool = True,
    **data_options,
) -> SubspaceComparison:
    """Train a linear autoencoder with a K-D code on `data` and compare it with K-component PCA.

    The autoencoder's run folder is `out`/linear-ae (default out: runs/pca-vs-linear-ae-DATA-K);
    the comparison goes to `out`/pca_vs_linear_ae.png and .json. `data_options` are the tabular
    label options (label_column, labels, label_key). PCA is fitted on exactly the rows the
    autoencoder trains on (no validation rows).
    """
    from sklearn.decomposition import PCA

    from genlab.models.registry import get_model
    from genlab.plots.common import save_figure_file
    from genlab.plots.latent import pca_vs_linear_ae_figure
    from genlab.train import engine

    spec = get_model("ae")
    config = spec.make_config(
        data=data,
        latent_dim=latent_dim,
        hidden=(),
        activation="linear",
        output_activation="linear",
        loss="mse",
        noise="none",
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        limit=limit,
        seed=seed,
        device=device,
        val_fraction=0.0,
        **data_options,
    )
    folder = Path(out) if out is not None else Path("runs") / f"pca-vs-linear-ae-{Path(data).stem}-{latent_dim}"
    result = engine.train(spec, config, out=folder / "linear-ae", overwrite=True, progress=progress)
    bundle = engine.load_family_data(spec, config, torch.device("cpu"))
    train_x = bundle.train.inputs().reshape(len(bundle.train), -1).numpy().astype(np.float64)
    test_x = bundle.test.inputs().reshape(len(bundle.test), -1).numpy().astype(np.float64)
    if latent_dim > min(train_x.shape):
        raise GenlabError(
            f"--latent-dim {latent_dim} exceeds the data's rank bound min(rows, features) = {min(train_x.shape)}"
        )

    pca = PCA(n_components=latent_dim, random_state=seed).fit(train_x)
    decoder = result.model.decoder[0].weight.detach().cpu().double().numpy()  # [D, K]
    angles = np.degrees(principal_angles(decoder, pca.components_.T))
    comparison = SubspaceComparison(
        latent_dim=latent_dim,
        principal_angles_deg=[float(a) for a in angles],
        largest_angle_deg=float(angles.max()),
        pca_test_mse=pca_reconstruction_mse(pca, test_x),
        linear_ae_test_mse=float(result.summary["test_reconstruction_mse"]),
        pca_train_mse=pca_reconstruction_mse(pca, train_x),
        explained_variance_ratio=float(pca.explained_variance_ratio_.sum()),
        run=str(result.run.path),
        figure=str(folder / "pca_vs_linear_ae.png"),
    )
    image_shape = bundle.input_shape if bundle.kind == "image" else None
    figure = pca_vs_linear_ae_figure(
        angles,
        comparison.pca_train_mse,
        comparison.pca_test_mse,
        comparison.linear_ae_test_mse,
        result.run.read_metrics(),
        pca.components_,
        _aligned_basis(decoder, pca.components_.T),
        image_shape,
        f"PCA vs linear autoencoder, K = {latent_dim}, on {bundle.name}",
    )
    save_figure_file(figure, comparison.figure)
    atomic_write_json(folder / "pca_vs_linear_ae.json", asdict(comparison))
    return comparison


def _aligned_basis(decoder: np.ndarray, components: np.ndarray) -> np.ndarray:
    """The decoder's column space [D, K] expressed in the orthonormal basis closest to the PCA
    components (orthogonal Procrustes), as rows [K, D], for showing beside them."""
    basis, _ = np.linalg.qr(decoder)
    u, _, vt = np.linalg.svd(basis.T @ components)
    return (basis @ (u @ vt)).T
