"""The classifiers suite: logistic regression, MLP activations and widths, optimisers, CNNs, and what they confuse.

Every choice carried forward (the activation for the width comparison, the
activation and width for the optimiser comparison) is made on validation
accuracy, so the test accuracies in the report are not selected numbers.
"""

from __future__ import annotations

from genlab.report.numbers import format_entry
from genlab.suites.run import Suite
from genlab.suites.steps import BestOf, ByMode, Floor, Inspect, InspectContext, Inspection, Sweep, Train, grid

# Quick: 5,000 training images and a few epochs (minutes on 2 CPU cores). Full: all training images,
# epochs at which each model's test accuracy has levelled off.
LIMIT = ByMode(quick=5000, full=None)
MLP = {"limit": LIMIT, "epochs": ByMode(quick=5, full=20), "evals_per_epoch": ByMode(quick=2, full=4)}
# Quick CNNs take smaller batches: on 3,000 images, batches of 256 give too few steps for batch norm and
# the one-cycle schedule to settle.
CNN = {"limit": ByMode(quick=3000, full=None), "batch_size": ByMode(quick=64, full=256)}
ACTIVATION_STEPS = ("mlp-linear-sigmoid", "mlp-activation")
WIDTHS = ByMode(quick=[32, 128, 512], full=[16, 32, 64, 128, 256, 512, 1024])
# Learning rates that suit each optimiser (plain SGD needs a far larger step than Adam), plus one too small and
# one large for each, rather than a full grid in which most points only show a mismatched pair.
OPTIMIZER_POINTS = [
    {"optimizer": "sgd", "lr": 0.01},
    {"optimizer": "sgd", "lr": 0.1},
    {"optimizer": "sgd", "lr": 0.5},
    {"optimizer": "momentum", "lr": 0.01},
    {"optimizer": "momentum", "lr": 0.1},
    {"optimizer": "adam", "lr": 1e-4},
    {"optimizer": "adam", "lr": 1e-3},
    {"optimizer": "adam", "lr": 1e-2},
    {"optimizer": "adadelta", "lr": 1.0},
]
COMPARISONS = {
    "mlp-linear-sigmoid": "no activation (linear) against sigmoid",
    "mlp-activation": "relu, softplus, elu and tanh",
    "mlp-width": "hidden-layer width",
    "mlp-optimizer": "optimiser and learning rate",
}


def build(data: tuple[str, ...]) -> list:
    on = {"data": data[0]}
    best_activation = BestOf(ACTIVATION_STEPS, "activation")
    return [
        Train(
            "logreg",
            "logreg",
            "multinomial logistic regression from raw parameters at its defaults: zero "
            "initialisation, plain SGD at learning rate 0.5, batches of 128",
            {**on, "limit": LIMIT, "epochs": ByMode(quick=5, full=10)},
        ),
        Sweep(
            "mlp-linear-sigmoid",
            "mlp",
            "an MLP with one hidden layer of 128 units, with no activation "
            "(linear: the whole network is then a linear map) and with a sigmoid",
            grid(activation=["linear", "sigmoid"]),
            {**on, **MLP, "hidden": (128,)},
            select="val_accuracy",
        ),
        Sweep(
            "mlp-activation",
            "mlp",
            "the same MLP with relu, softplus, elu and tanh; the best activation of "
            "these and the two before, by validation accuracy, is kept for the next steps",
            grid(activation=["relu", "softplus", "elu", "tanh"]),
            {**on, **MLP, "hidden": (128,)},
            select="val_accuracy",
        ),
        Sweep(
            "mlp-width",
            "mlp",
            "hidden-layer widths with the best activation; the best width by validation "
            "accuracy is kept for the optimiser comparison",
            ByMode(quick=grid(hidden=[(w,) for w in WIDTHS.quick]), full=grid(hidden=[(w,) for w in WIDTHS.full])),
            {**on, **MLP, "activation": best_activation},
            select="val_accuracy",
        ),
        Sweep(
            "mlp-optimizer",
            "mlp",
            "optimisers and learning rates with the best activation and width",
            OPTIMIZER_POINTS,
            {**on, **MLP, "activation": best_activation, "hidden": BestOf("mlp-width", "hidden")},
            select="val_accuracy",
        ),
        Train(
            "cnn",
            "cnn",
            "the two-convolution CNN (40 then 64 filters of 3x3, each with relu and 2x2 "
            "max-pooling, then 128 units): its first-layer filters and test confusion matrix",
            {
                **on,
                "arch": "cnn-two-conv",
                **CNN,
                "epochs": ByMode(quick=2, full=8),
                "evals_per_epoch": ByMode(quick=1, full=2),
            },
        ),
        Train(
            "cnn-fast",
            "cnn",
            "genlab's fast default CNN (two 3x3 conv-pool-batchnorm-relu blocks of 16 and 32 "
            "channels, a batch-normed hidden layer of 128 units), for comparison",
            {**on, **CNN, "epochs": ByMode(quick=2, full=5)},
        ),
        Inspect(
            "error-curves",
            "training and test error against optimisation steps for each comparison, one "
            "colour per setting, and how many steps each setting needed",
            error_curves,
            uses=tuple(COMPARISONS),
        ),
        Inspect(
            "most-confused",
            "the class pairs each final model confuses most on the test split",
            most_confused,
            uses=("logreg", "mlp-optimizer", "cnn", "cnn-fast"),
        ),
        Inspect(
            "gradient-check",
            "the gradient check (genlab gradcheck): autograd's gradient of the least-squares "
            "loss ||Xw - y||^2 against its closed form 2 X^T (Xw - y) and against central finite differences",
            gradient_check,
            floors=(
                Floor(
                    "max_rel_diff",
                    "the largest relative difference between autograd's and the closed-form gradient",
                    at_most=1e-10,
                ),
            ),
        ),
    ]


def error_curves(context: InspectContext) -> Inspection:
    """One figure per comparison (test error solid, training error dotted), and a table of how many
    steps each setting took to come within one percentage point of its final test error."""
    from genlab.plots.classifiers import comparison_error_figure
    from genlab.train.runfolder import RunFolder

    inspection = Inspection()
    rows = []
    for step, what in COMPARISONS.items():
        curves = {}
        for run in context.runs(step):
            label = ", ".join(f"{k}={_show(v)}" for k, v in run.point.items())
            events = RunFolder(run.path).read_metrics()
            curves[label] = events
            tests = [(e["step"], e["error"]) for e in events if e.get("event") == "eval" and e.get("split") == "test"]
            if tests:
                final = tests[-1][1]
                reached = next(s for s, error in tests if error <= final + 0.01)
                rows.append([step, label, final, reached, tests[-1][0]])
        inspection.figures.append(
            context.save_figure(
                comparison_error_figure(curves, f"MLP error by {what}"),
                f"{step}.png",
                caption=f"training (dotted) and test (solid) error against optimisation steps of "
                f"the MLPs compared by {what}, one colour per setting; log scale",
            )
        )
    inspection.tables.append(
        {
            "caption": "how many optimisation steps each MLP setting needed: the first evaluation at which its test "
            "error was within one percentage point (0.01) of its final test error",
            "columns": ["step", "setting", "final test error", "steps to within 0.01", "steps in all"],
            "rows": rows,
        }
    )
    return inspection


def most_confused(context: InspectContext) -> Inspection:
    """A table of each final model's most-confused (true, predicted) pairs, and a note on the CNN's."""
    from genlab.suites.steps import best_run

    finals = [
        ("logistic regression", context.runs("logreg")[0]),
        ("MLP (best by validation accuracy)", best_run(("mlp-optimizer",), context.outcomes)),
        ("two-convolution CNN", context.runs("cnn")[0]),
        ("fast CNN", context.runs("cnn-fast")[0]),
    ]
    rows = [
        [
            label,
            _settings_text(run),
            run.summary.get("test_accuracy"),
            format_entry("most_confused", run.summary.get("most_confused", [])),
        ]
        for label, run in finals
    ]
    inspection = Inspection(
        tables=[
            {
                "caption": "the test mistakes each final model made most often, as 'true class as predicted class "
                "(number of test images)'",
                "columns": ["model", "settings", "test accuracy", "most-confused pairs"],
                "rows": rows,
            }
        ]
    )
    cnn = finals[2][1].summary.get("most_confused") or []
    if cnn:
        top = cnn[0]
        inspection.notes.append(
            f"The two-convolution CNN's most frequent mistake: {top['count']} test images of "
            f"class {top['true']} predicted as {top['predicted']}."
        )
    return inspection


def gradient_check(context: InspectContext) -> Inspection:
    """`genlab gradcheck` (float64, X [50, 10]) and the same gradient against central finite differences."""
    import torch

    from genlab.gradcheck import check_gradients, least_squares_check

    report = least_squares_check(n=50, d=10, seed=0)
    generator = torch.Generator().manual_seed(0)  # the X, y and w of least_squares_check(seed=0)
    X = torch.randn(50, 10, generator=generator, dtype=torch.float64)
    y = torch.randn(50, generator=generator, dtype=torch.float64)
    w = torch.randn(10, generator=generator, dtype=torch.float64, requires_grad=True)
    try:
        finite, agree = check_gradients(lambda: (X @ w - y).pow(2).sum(), [w], eps=1e-6), "yes"
    except AssertionError as disagreement:  # the report says where, rather than the suite stopping
        finite, agree = None, f"no: {disagreement}"
    rows = [
        [
            "closed form 2 X^T (Xw - y)",
            report.autograd_norm,
            report.closed_form_norm,
            report.max_abs_diff,
            report.max_rel_diff,
            "yes" if report.agree else "no",
        ],
        ["central finite differences (eps 1e-6)", report.autograd_norm, None, finite, None, agree],
    ]
    return Inspection(
        tables=[
            {
                "caption": "autograd's gradient of L(w) = ||Xw - y||^2 (X [50, 10], y [50], w [10], float64, seed 0) "
                "against the closed form (agreement: largest relative difference at most "
                f"{report.tolerance:g}) and against central finite differences (element by element "
                "within 1e-8 + 1e-5 times the finite difference)",
                "columns": [
                    "against",
                    "autograd norm",
                    "closed-form norm",
                    "largest absolute difference",
                    "largest relative difference",
                    "agree",
                ],
                "rows": rows,
            }
        ],
        values={
            "max_abs_diff": report.max_abs_diff,
            "max_rel_diff": report.max_rel_diff,
            "finite_difference_max_abs_diff": finite,
        },
    )


def _settings_text(run) -> str:
    shown = {k: v for k, v in run.settings.items() if k in ("activation", "hidden", "optimizer", "lr", "arch")}
    return ", ".join(f"{k}={_show(v)}" for k, v in shown.items()) or "defaults"


def _show(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


SUITE = Suite(
    name="classifiers",
    title="Classifiers",
    description="Logistic regression; an MLP with one hidden layer of 128 units without and with a sigmoid, then "
    "with four other activations; hidden widths with the best activation; optimisers and learning "
    "rates; two CNNs with their filters and confusion matrices. Every choice carried forward is made "
    "on validation accuracy.",
    data=("mnist",),
    build=build,
)
