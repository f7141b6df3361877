"""The default CNN: its shape, a lone leftover example, and a weights round trip."""

from __future__ import annotations

import torch

from genlab.models.classifiers import FastCNN
from genlab.models.registry import get_model
from genlab.train import engine


def test_fast_cnn_maps_images_to_logits_and_keeps_16_first_layer_filters():
    model = FastCNN(num_classes=10)
    logits = model(torch.rand(3, 1, 28, 28))
    assert logits.shape == (3, 10)
    assert model.first_layer_filters().shape == (16, 1, 3, 3)


def test_epoch_steps_fold_a_lone_leftover_row_into_the_previous_batch():
    assert engine.epoch_steps(512, 256) == 2
    assert engine.epoch_steps(513, 256) == 2
    assert engine.epoch_steps(514, 256) == 3
    assert engine.epoch_steps(1, 256) == 1


def test_cnn_trains_when_one_example_is_left_over_and_its_weights_reload(tmp_path):
    # 257 rows in batches of 256 would leave a batch of one, which batch norm refuses in training.
    spec = get_model("cnn")
    config = spec.make_config(data="mnist-sample", limit=257, val_fraction=0.0, epochs=1)
    result = engine.train(spec, config, out=tmp_path / "run", progress=False)
    assert result.summary["steps"] == 1
    reloaded = engine.evaluate_run(tmp_path / "run", device="cpu")
    assert reloaded["test_accuracy"] == result.summary["test_accuracy"]
