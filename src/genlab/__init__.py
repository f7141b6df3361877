"""genlab: train, inspect and evaluate deep generative models, with reports."""

__version__ = "0.1.0"
