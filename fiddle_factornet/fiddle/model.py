"""FIDDLE's model as the paper describes it, built from a config by a pure function.

One module per input track, (L, H) -> a representation of ``representation`` (500) values named
after the track::

    Conv1D(80, 5) over the H rows (the paper's H x 5 kernels) -> AvgPool 2 -> ReLU -> BatchNorm
    -> Conv1D(40, 5) -> AvgPool 2 -> ReLU -> BatchNorm -> Dropout -> Flatten -> Dense 500

and a scaffold over the stacked representations (500 positions x N tracks)::

    Conv1D(20, 5) (the paper's N x 5 kernels) -> AvgPool 2 -> ReLU -> BatchNorm -> Dropout
    -> Flatten -> Dense L -> softmax over the L positions

Loss: KL divergence of the target profile from the prediction, both clipped to [1e-7, 1]
(Keras' ``KLDivergence``); Adam, learning rate 1e-3. (The released code drifted from the paper:
it summed the representations, used 80 filters everywhere, no batch norm and no dropout.)
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import layers


@dataclass(frozen=True)
class FiddleConfig:
    """Inputs (track name -> rows H) and sizes of a FIDDLE model; defaults are the paper's."""

    tracks: tuple[tuple[str, int], ...]  # e.g. (("dna", 4), ("netseq", 2), ("rnaseq", 1))
    length: int = 500
    module_filters: tuple[int, int] = (80, 40)
    scaffold_filters: int = 20
    kernel_width: int = 5
    pool: int = 2
    representation: int = 500
    dropout: float = 0.5

    @classmethod
    def from_record(cls, record: dict) -> "FiddleConfig":
        """The config from its JSON form (a run record's ``architecture``): lists back to tuples."""
        return cls(**{**record, "tracks": tuple((name, int(rows)) for name, rows in record["tracks"]),
                      "module_filters": tuple(record["module_filters"])})


def _conv_block(x, filters: int, cfg: FiddleConfig, name: str):
    x = layers.Conv1D(filters, cfg.kernel_width, name=f"{name}_conv")(x)
    x = layers.AveragePooling1D(cfg.pool, name=f"{name}_pool")(x)
    x = layers.ReLU(name=f"{name}_relu")(x)
    return layers.BatchNormalization(name=f"{name}_norm")(x)


def build_module(name: str, rows: int, cfg: FiddleConfig) -> keras.Model:
    """The module of one track: (batch, L, rows) -> (batch, representation), a sub-model named
    ``<name>_module`` whose last layer is ``<name>_representation`` (for analysis, and to move
    its weights to another model: see :func:`transfer_module`)."""
    window = keras.Input((cfg.length, rows), name=f"{name}_in")
    x = window
    for i, filters in enumerate(cfg.module_filters, 1):
        x = _conv_block(x, filters, cfg, f"{name}_{i}")
    x = layers.Dropout(cfg.dropout, name=f"{name}_dropout")(x)
    x = layers.Flatten(name=f"{name}_flatten")(x)
    x = layers.Dense(cfg.representation, name=f"{name}_representation")(x)
    return keras.Model(window, x, name=f"{name}_module")


def build_fiddle(cfg: FiddleConfig) -> keras.Model:
    """The FIDDLE model (uncompiled): inputs named after the tracks, (batch, L, H) each; output
    (batch, L), a probability distribution over the L positions."""
    if not cfg.tracks:
        raise ValueError("FIDDLE needs at least one input track")
    inputs = {name: keras.Input((cfg.length, rows), name=name) for name, rows in cfg.tracks}
    representations = [build_module(name, rows, cfg)(inputs[name]) for name, rows in cfg.tracks]
    stacked = layers.Reshape((cfg.representation, 1), name="stack_1")(representations[0]) \
        if len(representations) == 1 else layers.Concatenate(axis=-1, name="stack")(
            [layers.Reshape((cfg.representation, 1), name=f"stack_{i}")(r)
             for i, r in enumerate(representations, 1)])
    x = _conv_block(stacked, cfg.scaffold_filters, cfg, "scaffold")
    x = layers.Dropout(cfg.dropout, name="scaffold_dropout")(x)
    x = layers.Flatten(name="scaffold_flatten")(x)
    x = layers.Dense(cfg.length, name="scaffold_dense")(x)
    output = layers.Softmax(name="profile")(x)
    return keras.Model(inputs, output, name="fiddle")


def transfer_module(source: keras.Model, target: keras.Model, name: str,
                    trainable: bool = False) -> None:
    """Copy the trained module of track ``name`` from ``source`` into ``target``; freeze it
    (``trainable=False``) or let it fine-tune. Recompile ``target`` afterwards."""
    module = target.get_layer(f"{name}_module")
    module.set_weights(source.get_layer(f"{name}_module").get_weights())
    module.trainable = trainable
