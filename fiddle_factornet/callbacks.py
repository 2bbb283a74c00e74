"""What both model families' training shares: callbacks and where training runs."""

from __future__ import annotations

from pathlib import Path

import keras


def build_callbacks(out_dir: Path, patience: int) -> list[keras.callbacks.Callback]:
    """Best weights by validation loss, early stopping, CSV history, TensorBoard logs."""
    return [
        keras.callbacks.ModelCheckpoint(out_dir / "best.weights.h5", monitor="val_loss",
                                        save_best_only=True, save_weights_only=True),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience),
        keras.callbacks.CSVLogger(out_dir / "history.csv"),
        keras.callbacks.TensorBoard(out_dir / "logs"),
    ]


def describe_devices() -> str:
    """Where TensorFlow will train: its GPUs, or the CPU."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return ", ".join(gpu.name for gpu in gpus) if gpus else "CPU (TensorFlow sees no GPU)"
