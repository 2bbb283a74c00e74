"""FactorNet's Siamese network, built from a config by a pure function.

One strand network (the *trunk* up to the first dense layer, then the *head*) is applied with
shared weights to the forward window and to its reverse complement, and the two sigmoid outputs
are averaged, so the prediction is exactly reverse-complement symmetric::

    Conv1D(k, w, valid, ReLU) -> Dropout 0.1 -> Dense k ReLU (per position) ->
      r > 0:  MaxPool(w // 2) -> BiLSTM(r, sequences) -> Dropout p -> Flatten
      r = 0:  MaxPool(w // 2) -> Dropout p -> Flatten
      r < 0:  GlobalMaxPool -> Dropout p
    -> Dense d ReLU -> head

The head is Dropout p -> Dense n_tasks sigmoid, or, with per-cell-type ``meta`` and/or per-bin
``annotations`` inputs: concat [dense, meta, annotations] -> Dropout 0.1 -> Dense d ReLU ->
Dropout p -> Dense n_tasks sigmoid (shared by both strands).

The per-position dense layer is a ``Dense`` on the 3-D tensor (the same maths as Keras 1's
``TimeDistributed(Dense)``, which Keras 3 runs an order of magnitude slower on a CPU).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import keras
from keras import layers


#: the registered name of :func:`keras1_hard_sigmoid`, usable as ``recurrent_activation``
HARD_SIGMOID_NAME = "fiddle_factornet>keras1_hard_sigmoid"


@keras.saving.register_keras_serializable(package="fiddle_factornet", name="keras1_hard_sigmoid")
def keras1_hard_sigmoid(x):
    """Keras 1's hard sigmoid, clip(0.2 x + 0.5, 0, 1), elementwise (any shape)."""
    return keras.ops.clip(0.2 * x + 0.5, 0.0, 1.0)


@dataclass(frozen=True)
class FactorNetConfig:
    """Architecture of a FactorNet model; defaults are the paper's (flags -L -k -w -r -d -p)."""

    input_length: int = 1000            # L
    n_tracks: int = 2                   # bigWig rows beside the 4 one-hot rows
    n_tasks: int = 1                    # TFs at the output (multi-task: several)
    n_meta: int = 0                     # per-cell-type vector (8 expression PCs), 0 = none
    n_annotations: int = 0              # per-bin vector (6 GENCODE booleans), 0 = none
    kernels: int = 32                   # k
    kernel_width: int = 26              # w
    recurrent: int = 32                 # r: LSTM units; 0 = no LSTM; < 0 = global max pooling
    dense: int = 128                    # d
    dropout: float = 0.5                # p
    conv_dropout: float = 0.1
    lstm_dropout: float = 0.1           # on the LSTM's inputs (Keras 1 dropout_W)
    lstm_recurrent_dropout: float = 0.1  # on its recurrent state (Keras 1 dropout_U)
    recurrent_activation: str = HARD_SIGMOID_NAME  # Keras 1's default inner activation
    pool: int = 0                       # pooling size and stride; 0 = kernel_width // 2

    def fast_lstm(self) -> "FactorNetConfig":
        """This architecture with a faster LSTM: sigmoid gates, no recurrent dropout (a GPU's fused
        kernel; 1.4x faster training on a 2-core CPU). A departure from the original, by choice."""
        return replace(self, recurrent_activation="sigmoid", lstm_recurrent_dropout=0.0)

    @property
    def channels(self) -> int:
        return 4 + self.n_tracks

    @property
    def pool_size(self) -> int:
        return self.pool or self.kernel_width // 2

    @property
    def pooled_length(self) -> int:
        """Positions left after the valid convolution and the pooling."""
        return (self.input_length - self.kernel_width + 1) // self.pool_size


def _activation(name: str):
    """A Keras activation by name; :data:`HARD_SIGMOID_NAME` is Keras 1's hard sigmoid."""
    return keras1_hard_sigmoid if name == HARD_SIGMOID_NAME else name


def _trunk(cfg: FactorNetConfig) -> keras.Model:
    """One strand, (L, 4 + tracks) -> (dense,): everything up to the first dense layer."""
    if cfg.input_length < cfg.kernel_width or (cfg.recurrent >= 0 and cfg.pooled_length < 1):
        raise ValueError(f"input length {cfg.input_length} is too short for kernels of width "
                         f"{cfg.kernel_width} pooled by {cfg.pool_size}")
    window = keras.Input((cfg.input_length, cfg.channels), name="window")
    x = layers.Conv1D(cfg.kernels, cfg.kernel_width, padding="valid", activation="relu",
                      name="conv")(window)
    x = layers.Dropout(cfg.conv_dropout, name="conv_dropout")(x)
    x = layers.Dense(cfg.kernels, activation="relu", name="conv_dense")(x)
    if cfg.recurrent < 0:
        x = layers.GlobalMaxPooling1D(name="global_pool")(x)
    else:
        x = layers.MaxPooling1D(cfg.pool_size, strides=cfg.pool_size, name="pool")(x)
        assert x.shape[1] == cfg.pooled_length, (x.shape, cfg.pooled_length)
        if cfg.recurrent > 0:
            lstm = layers.LSTM(cfg.recurrent, return_sequences=True, dropout=cfg.lstm_dropout,
                               recurrent_dropout=cfg.lstm_recurrent_dropout,
                               recurrent_activation=_activation(cfg.recurrent_activation),
                               name="lstm")
            x = layers.Bidirectional(lstm, merge_mode="concat", name="bilstm")(x)
    x = layers.Dropout(cfg.dropout, name="trunk_dropout")(x)
    if cfg.recurrent >= 0:
        x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(cfg.dense, activation="relu", name="dense")(x)
    return keras.Model(window, x, name="strand_trunk")


def _head(cfg: FactorNetConfig) -> keras.Model:
    """(dense,) [+ meta, annotations] -> (n_tasks,) sigmoid; the block that differs by variant."""
    dense = keras.Input((cfg.dense,), name="trunk_out")
    extras = [keras.Input((width,), name=name) for name, width in
              (("meta", cfg.n_meta), ("annotations", cfg.n_annotations)) if width]
    x = dense
    if extras:
        x = layers.Concatenate(name="concat_extras")([dense, *extras])
        x = layers.Dropout(0.1, name="extras_dropout")(x)
        x = layers.Dense(cfg.dense, activation="relu", name="extras_dense")(x)
    x = layers.Dropout(cfg.dropout, name="head_dropout")(x)
    out = layers.Dense(cfg.n_tasks, activation="sigmoid", name="output")(x)
    return keras.Model([dense, *extras], out, name="strand_head")


def build_factornet(cfg: FactorNetConfig) -> keras.Model:
    """The Siamese FactorNet model (uncompiled).

    Inputs (by name): ``forward`` and ``reverse`` (batch, L, 4 + n_tracks); ``meta``
    (batch, n_meta) and ``annotations`` (batch, n_annotations) when configured.
    Output: (batch, n_tasks) probabilities, the mean of the two strands' sigmoid outputs.
    """
    trunk, head = _trunk(cfg), _head(cfg)
    inputs = {strand: keras.Input((cfg.input_length, cfg.channels), name=strand)
              for strand in ("forward", "reverse")}
    extras = [keras.Input((width,), name=name) for name, width in
              (("meta", cfg.n_meta), ("annotations", cfg.n_annotations)) if width]
    inputs.update({tensor.name: tensor for tensor in extras})
    strands = [head([trunk(inputs[strand]), *extras]) for strand in ("forward", "reverse")]
    output = layers.Average(name="strand_average")(strands)
    return keras.Model(inputs, output, name="factornet")
