"""The VAE suite: the VAE on each dataset (reconstructions by epoch, existing / reconstructed / new images,
embedding, interpolation), a 2-D VAE for the latent manifold, and beta sweeps of the VAE and of echo noise on
one rate-distortion figure.
"""

from __future__ import annotations

from genlab.suites.common import interpolations
from genlab.suites.run import Suite
from genlab.suites.steps import ByMode, Inspect, InspectContext, Inspection, Sweep, Train, grid

# The importance-weighted bound on -log p(x) costs iwae_k decoder passes per test image: fewer in quick mode.
VAE = {"limit": ByMode(quick=5000, full=None), "epochs": ByMode(quick=5, full=None),
       "iwae_k": ByMode(quick=100, full=1000), "iwae_images": ByMode(quick=500, full=1000)}
# The rate-distortion comparison puts the beta-VAE and echo noise on one network and schedule (those of
# the measured comparison in docs/vae.md): 784-400-20 with ReLU and no dropout, one-cycle Adam at 2e-3.
RATE_DISTORTION = {"hidden": (400,), "activation": "relu", "dropout": 0.0, "lr": 2e-3, "batch_size": 64,
                   "schedule": "onecycle", "limit": ByMode(quick=5000, full=None), "epochs": ByMode(quick=5, full=15)}
BETAS = ByMode(quick=grid(beta=[0.5, 1.0, 4.0]), full=grid(beta=[0.1, 0.5, 1.0, 2.0, 4.0, 8.0]))
ECHO_BETAS = ByMode(quick=grid(beta=[1.0]), full=grid(beta=[0.1, 0.5, 1.0, 2.0, 4.0, 8.0]))


def build(data: tuple[str, ...]) -> list:
    steps = []
    for name in data:
        steps += [
            Train(f"vae-{name}", "vae", f"the VAE on {name} at its defaults: MLP encoder 784-200-20 (tanh, dropout), "
                  "Bernoulli decoder, one reparameterised sample per image; reconstructions after every epoch",
                  {"data": name, **VAE}),
            Train(f"vae-2d-{name}", "vae", f"the same VAE with a 2-D code on {name}, whose decoder can be drawn "
                  "over a grid of the latent plane (the manifold)", {"data": name, **VAE, "latent_dim": 2}),
            Inspect(f"interpolation-{name}", f"interpolations through the VAE's 20-D code on {name}, within a "
                    "class and between classes", _interpolate(f"vae-{name}"), uses=(f"vae-{name}",)),
        ]
    first = data[0]
    steps += [
        Sweep("beta", "vae", f"the beta-VAE on {first}: the rate term weighted by beta, from below 1 (sharper "
              "reconstructions, more information in the code) to above 1 (a code closer to the prior), on the "
              "network shared with echo noise", BETAS,
              {"data": first, **RATE_DISTORTION, "iwae_k": VAE["iwae_k"], "iwae_images": VAE["iwae_images"]}),
        Sweep("echo", "echo-ae", f"the echo-noise autoencoder on {first}, on the same network: noise built from "
              "the codes of other images of the batch, with an exact rate",
              ECHO_BETAS, {"data": first, **RATE_DISTORTION}),
        Inspect("rate-distortion", f"rate against distortion on the {first} test split for every beta and for "
                "echo noise", rate_distortion, uses=("beta", "echo")),
    ]
    return steps


def _interpolate(step: str):
    def inspect(context: InspectContext) -> Inspection:
        return interpolations(context, context.runs(step)[0])
    return inspect


def rate_distortion(context: InspectContext) -> Inspection:
    """`genlab rate-distortion` over the beta-VAE and echo-noise sweeps, and its points as a table."""
    from genlab.rate_distortion import write_rate_distortion

    folders = [context.outcomes["beta"].folder, context.outcomes["echo"].folder]
    path, points = write_rate_distortion(folders, context.folder / "rate_distortion.png")
    table = {"caption": "each point of the rate-distortion figure: rate (the KL term, or echo noise's exact rate, "
                        "in nats per image) and distortion (the reconstruction term, nats per image), both on the "
                        "test split",
             "columns": ["model", "setting", "rate (nats)", "distortion (nats)"],
             "rows": [[p.group, p.label, p.rate, p.distortion] for p in points]}
    return Inspection(figures=[(path.name, "distortion against rate on the test split: each beta of the beta-VAE "
                                           "and of the echo-noise autoencoder; lower-left is better, and a larger "
                                           "beta moves along the curve towards less rate and more distortion")],
                      tables=[table])


SUITE = Suite(
    name="vae",
    title="Variational autoencoders",
    description="The VAE (784-200-20, Bernoulli decoder) on MNIST and Fashion-MNIST with its reconstructions after "
                "the first and the last epoch, existing / reconstructed / new images, test embedding and "
                "interpolations; a VAE with a 2-D code for the latent manifold; and beta sweeps of the VAE and of "
                "the echo-noise autoencoder on one rate-distortion figure.",
    data=("mnist", "fashion-mnist"),
    build=build,
)
