"""The least a standalone script needs to train a model's default network: the fair baseline of a whole command.

    python benchmarks/fair_loop.py MODEL [--data mnist] [--epochs N]

Run as its own process, it pays what any training script pays: the interpreter's start, importing torch,
reading the data and building the network and optimiser, then the same optimisation steps as `genlab train
MODEL` with the model's defaults (the family's own networks and train_step, the engine's batch order), and
nothing else: no run folder, no logging, no evaluation, no figures. whole_command.py times it beside the
whole command; for models whose steps take a second or less, start-up alone exceeds 1.5x the steps, and
this script is the fair denominator.
"""

from __future__ import annotations

import argparse
import time

import torch

from genlab.models.registry import get_model
from genlab.train.engine import epoch_order, epoch_steps, load_family_data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--data", default="mnist")
    parser.add_argument("--epochs", type=int, help="default: the model's own (a smaller number: a smoke check)")
    args = parser.parse_args()
    spec = get_model(args.model)
    epochs = {} if args.epochs is None else {"epochs": args.epochs}
    config = spec.make_config(data=args.data, device="cpu", **epochs)
    device = torch.device("cpu")
    family = spec.family(config, load_family_data(spec, config, device), device)
    torch.manual_seed(config.seed)
    model = family.build().to(device)
    optimizers = family.optimizers(model)
    model.train()
    n = len(family.data.train)
    batch_size = min(config.batch_size, n)
    steps = epoch_steps(n, batch_size)
    started, step = time.perf_counter(), 0
    for epoch in range(config.epochs):
        order = epoch_order(n, config.seed, epoch, device)
        for index in range(steps):
            rows = order[index * batch_size : None if index + 1 == steps else (index + 1) * batch_size]
            family.train_step(model, family.data.train.inputs(rows), family.data.train.y[rows], optimizers, step)
            step += 1
    print(f"{args.model}: {step} steps in {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
