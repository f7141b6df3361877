"""The one exception type a user can cause.

A GenlabError carries a one-line message that names the problem and the fix.
The CLI prints it without a traceback and exits with code 2.
"""


class GenlabError(Exception):
    """An error caused by the user's input (bad flag, missing file, NaN loss...)."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training, carrying what it takes to continue: the run folder, its model, the
    epoch its last checkpoint ended (0: none yet) out of the epochs asked for, and whether the final
    weights were written. A KeyboardInterrupt still, so whatever stops on Ctrl-C stops on it."""

    def __init__(self, run_path, model: str, checkpoint_epoch: int, epochs: int, weights: bool):
        self.run_path, self.model = run_path, model
        self.checkpoint_epoch, self.epochs, self.weights = checkpoint_epoch, epochs, weights
        super().__init__(self.state())

    def state(self) -> str:
        """What the run folder holds after the interruption, in words."""
        if self.checkpoint_epoch == 0:
            return f"no epoch had finished, so {self.run_path} holds no checkpoint and nothing can be continued"
        if self.checkpoint_epoch >= self.epochs and self.weights:
            return f"{self.run_path} finished training but its summary was not written"
        return f"{self.run_path} holds a checkpoint after epoch {self.checkpoint_epoch} of {self.epochs}"
