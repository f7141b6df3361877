"""genlab: train, inspect and evaluate deep generative models, with reports.

The Python API is the command line's, verb for verb (docs/api.md):

    import genlab
    run = genlab.train("vae", data="mnist-sample", epochs=3, latent_dim=2, quiet=True)
    run.summary["test_elbo"]; images = run.sample(16)        # float32 [16, 1, 28, 28] in [0, 1]
    genlab.compare(f"{run.path}:samples", "mnist-sample:test[0:500]", metrics=["fd"])

Every function takes its command's settings as keyword arguments (or one settings
object from genlab.settings) and raises GenlabError with the CLI's one-line message.
"""

import sys

from genlab.version import __version__


def _interrupted_while_starting() -> None:
    """Ctrl-C during the seconds the `genlab` command spends importing torch: one line and exit code 130,
    as at any later moment (genlab.cli.main); a program importing the library gets its KeyboardInterrupt."""
    name = sys.argv[0].replace("\\", "/").rsplit("/", 1)[-1] if sys.argv else ""
    # The console script (genlab, genlab.exe, genlab-script.py), or `python -m genlab.cli`, whose
    # argv[0] is '-m' while the package is being imported.
    if name == "-m" or name.split(".")[0].split("-")[0] == "genlab":
        sys.stderr.write("genlab: interrupted while starting; nothing was written\n")
        sys.exit(130)


try:
    # `genlab.train` is the verb, not the subpackage genlab/train/: importing the subpackage first means
    # later imports of its modules (`from genlab.train import engine`) leave the name to the function.
    # The same for `genlab.explore` and genlab/explore/.
    import genlab.explore  # noqa: F401
    import genlab.train  # noqa: F401
    from genlab.api import (
        compare,
        compare_runs,
        corrupt,
        datasets,
        divergences_experiment,
        evaluate,
        explore,
        export,
        get_dataset,
        gradient_check,
        interpolate,
        invert,
        path,
        pca_vs_linear_ae,
        plot_images,
        plot_rate_distortion,
        run_demo,
        run_sweep,
        sample,
        suite,
        train,
        train_judge,
        traverse,
        tune,
        write_report,
    )
    from genlab.errors import GenlabError
    from genlab.run import Run, load
except KeyboardInterrupt:
    _interrupted_while_starting()
    raise

__all__ = [
    "GenlabError",
    "Run",
    "__version__",
    "compare",
    "compare_runs",
    "corrupt",
    "datasets",
    "divergences_experiment",
    "evaluate",
    "explore",
    "export",
    "get_dataset",
    "gradient_check",
    "interpolate",
    "invert",
    "load",
    "path",
    "pca_vs_linear_ae",
    "plot_images",
    "plot_rate_distortion",
    "run_demo",
    "run_sweep",
    "sample",
    "suite",
    "train",
    "train_judge",
    "traverse",
    "tune",
    "write_report",
]
