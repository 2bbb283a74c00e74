"""Conversion of the original FactorNet's published models (Keras 1.1.1, Theano) to our format.

An original model folder holds ``model.json`` (the Keras 1 architecture), ``best_model.hdf5`` /
``final_model.hdf5`` (weights under ``model_weights/<layer>/<weight name>``) and the description
files ``chip.txt``, ``bigwig.txt``, ``feature.txt`` and ``meta.txt``. The architecture must be one
of the challenge's variants: the Siamese strand network

    Convolution1D (valid, ReLU) -> Dropout -> TimeDistributed(Dense ReLU) -> MaxPooling1D ->
    Bidirectional(LSTM, concat, sequences) -> Dropout -> Flatten -> Dense ReLU
    -> [Merge concat with one extra input -> Dense ReLU] -> Dense sigmoid

applied to both strands and averaged (Merge ave). What the original computed differs from a
current framework's defaults in three places, handled here:

- Theano's ``conv2d`` is a true convolution: the stored kernel (w, 1, channels, filters) is applied
  reversed along the width, so a cross-correlation (Keras 3) needs ``W[::-1, 0]`` (w, channels,
  filters).
- Keras 1 stores the LSTM per gate (``W_i, U_i, b_i, W_c, ..., W_o``); Keras 3 packs kernel
  (in, 4u), recurrent kernel (u, 4u) and bias (4u) in gate order i, f, c, o.
- Keras 1's ``hard_sigmoid`` is clip(0.2 x + 0.5, 0, 1): :func:`~.model.keras1_hard_sigmoid`, registered
  for serialization (the module must be imported before loading a converted ``model.keras``).

The extra input of the meta/GENCODE variants is one vector [meta, gencode] concatenated after the
first dense layer; ours has separate ``meta`` and ``annotations`` inputs concatenated in the same
order, so the weights map unchanged. The original head has no dropout: ours is set to rate 0.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import h5py
import keras
import numpy as np

from ..errors import InputError
from ..runs.outputs import check_outputs, safe_output
from ..runs.record import RECORD_NAME, RunRecord
from .annotations import ANNOTATION_FILES
from .model import HARD_SIGMOID_NAME, FactorNetConfig, build_factornet

logger = logging.getLogger(__name__)


WEIGHT_FILES = {"best": "best_model.hdf5", "final": "final_model.hdf5"}
GATES = ("i", "f", "c", "o")  # Keras 3's packing order

_TRUNK = ("InputLayer", "InputLayer", "Convolution1D", "Dropout", "TimeDistributed",
          "MaxPooling1D", "Bidirectional", "Dropout", "Flatten", "Dense")
#: layer classes of the two topologies, in model.json's order
TOPOLOGIES = {
    "plain": _TRUNK + ("Dense", "Merge"),
    "extras": _TRUNK + ("InputLayer", "Merge", "Merge", "Dense", "Dense", "Merge"),
}
KNOWN_CLASSES = frozenset(c for classes in TOPOLOGIES.values() for c in classes)


@dataclass(frozen=True)
class OriginalModel:
    """What an original model folder describes: our architecture, its files, Keras 1 layer names."""

    path: Path
    config: FactorNetConfig
    layers: dict[str, str]      # our role -> the Keras 1 layer name
    tfs: tuple[str, ...]
    track_names: tuple[str, ...]
    meta_names: tuple[str, ...]
    features: tuple[str, ...]
    dropouts: dict[str, float]  # the original's rates, by our layer names


def _lines(path: Path) -> tuple[str, ...]:
    if not path.is_file():
        raise InputError(f"{path}: file is missing")
    return tuple(line.strip() for line in path.read_text().splitlines() if line.strip())


def _check(condition: bool, path: Path, message: str) -> None:
    if not condition:
        raise InputError(f"{path}: {message}")


def read_original(src_dir) -> OriginalModel:
    """Parse an original model folder's model.json and description files (no weights read)."""
    src = Path(src_dir)
    json_path = src / "model.json"
    if not json_path.is_file():
        raise InputError(f"{json_path}: file is missing (not an original FactorNet model folder)")
    try:
        spec = json.loads(json_path.read_text())
        layers = spec["config"]["layers"]
        classes = tuple(layer["class_name"] for layer in layers)
    except (ValueError, KeyError, TypeError) as error:
        raise InputError(f"{json_path}: not a Keras 1 functional model ({error})") from None
    unknown = [c for c in classes if c not in KNOWN_CLASSES]
    _check(not unknown, json_path, f"unknown layer class {unknown[0] if unknown else ''!r}")
    topology = next((name for name, want in TOPOLOGIES.items() if want == classes), None)
    _check(topology is not None, json_path, f"layer sequence {list(classes)} is none of "
                                            "FactorNet's variants")
    roles = ["input_1", "input_2", "conv", "conv_dropout", "conv_dense", "pool", "bilstm",
             "trunk_dropout", "flatten", "dense"]
    roles += ["output", "average"] if topology == "plain" else \
        ["extras", "merge_1", "merge_2", "extras_dense", "output", "average"]
    cfg = {role: layer["config"] for role, layer in zip(roles, layers)}
    names = {role: layer["name"] for role, layer in zip(roles, layers)}

    def want(ok: bool, what: str) -> None:
        _check(ok, json_path, f"{what} (not FactorNet's architecture)")

    shape = cfg["input_1"]["batch_input_shape"]
    want(shape == cfg["input_2"]["batch_input_shape"] and len(shape) == 3, "strand input shapes")
    length, channels = shape[1], shape[2]
    conv = cfg["conv"]
    want(conv["border_mode"] == "valid" and conv["subsample_length"] == 1
         and conv["activation"] == "relu" and conv.get("bias", True), "convolution settings")
    inner = cfg["conv_dense"]["layer"]
    want(inner["class_name"] == "Dense" and inner["config"]["activation"] == "relu"
         and inner["config"]["output_dim"] == conv["nb_filter"], "per-position dense layer")
    pool = cfg["pool"]
    want(pool["stride"] == pool["pool_length"] and pool["border_mode"] == "valid", "pooling")
    lstm = cfg["bilstm"]["layer"]
    want(cfg["bilstm"]["merge_mode"] == "concat" and lstm["class_name"] == "LSTM"
         and lstm["config"]["inner_activation"] == "hard_sigmoid"
         and lstm["config"]["activation"] == "tanh" and lstm["config"]["return_sequences"]
         and not lstm["config"]["go_backwards"], "bidirectional LSTM settings")
    want(cfg["dense"]["activation"] == "relu" and cfg["output"]["activation"] == "sigmoid"
         and cfg["average"]["mode"] == "ave", "dense layers or strand averaging")
    extras = 0
    if topology == "extras":
        extras_shape = cfg["extras"]["batch_input_shape"]
        want(len(extras_shape) == 2 and cfg["merge_1"]["mode"] == "concat"
             and cfg["merge_2"]["mode"] == "concat"
             and cfg["extras_dense"]["activation"] == "relu"
             and cfg["extras_dense"]["output_dim"] == cfg["dense"]["output_dim"],
             "extra input block")
        extras = extras_shape[1]

    features = _lines(src / "feature.txt")
    tfs = _lines(src / "chip.txt")
    track_names = _lines(src / "bigwig.txt") if "bigwig" in features else ()
    meta_names = _lines(src / "meta.txt") if "meta" in features else ()
    unknown = [f for f in features if f not in ("bigwig", "meta", "gencode")]
    _check(not unknown, src / "feature.txt", f"unknown feature {unknown[0] if unknown else ''!r}")
    n_annotations = len(ANNOTATION_FILES) if "gencode" in features else 0
    _check(extras == len(meta_names) + n_annotations, src / "feature.txt",
           f"features {list(features)} ({len(meta_names)} meta, {n_annotations} annotations) do "
           f"not match the model's extra input of width {extras} ({json_path})")
    _check(channels == 4 + len(track_names), src / "bigwig.txt",
           f"{len(track_names)} tracks do not match the model's {channels} input channels")
    _check(len(tfs) == cfg["output"]["output_dim"], src / "chip.txt",
           f"{len(tfs)} TFs do not match the model's {cfg['output']['output_dim']} outputs")

    config = FactorNetConfig(
        input_length=length, n_tracks=len(track_names), n_tasks=len(tfs),
        n_meta=len(meta_names), n_annotations=n_annotations, kernels=conv["nb_filter"],
        kernel_width=conv["filter_length"], recurrent=lstm["config"]["output_dim"],
        dense=cfg["dense"]["output_dim"], dropout=cfg["trunk_dropout"]["p"],
        conv_dropout=cfg["conv_dropout"]["p"], lstm_dropout=lstm["config"]["dropout_W"],
        lstm_recurrent_dropout=lstm["config"]["dropout_U"],
        recurrent_activation=HARD_SIGMOID_NAME, pool=pool["pool_length"])
    want(config.pooled_length >= 1, "input too short for the convolution and pooling")
    dropouts = {"conv_dropout": config.conv_dropout, "trunk_dropout": config.dropout,
                "head_dropout": 0.0}
    if topology == "extras":
        dropouts["extras_dropout"] = 0.0
    return OriginalModel(src, config, {k: v for k, v in names.items() if k in WEIGHTED_ROLES},
                         tfs, track_names, meta_names, features, dropouts)


WEIGHTED_ROLES = ("conv", "conv_dense", "bilstm", "dense", "extras_dense", "output")


class _Weights:
    """Datasets of a Keras 1 weights file, checked for presence and shape."""

    def __init__(self, path: Path, handle: h5py.File):
        self.path, self.group = path, handle.get("model_weights", handle)

    def get(self, layer: str, name: str, shape: tuple[int, ...]) -> np.ndarray:
        key = f"{layer}/{name}"
        if key not in self.group:
            raise InputError(f"{self.path}: weights {key!r} are missing")
        value = np.asarray(self.group[key], dtype=np.float32)
        if value.shape != shape:
            raise InputError(f"{self.path}: weights {key!r} have shape {value.shape}, "
                             f"the architecture needs {shape}")
        return value


def original_weights(original: OriginalModel, weights: str = "best", flip: bool = True
                     ) -> dict[str, list[np.ndarray]]:
    """Our layers' weight lists from the original's HDF5 file, by our layer name.

    ``conv``: kernel (w, 4 + tracks, k) = the stored (w, 1, 4 + tracks, k) reversed along w
    (``flip=False`` keeps the stored order: the wrong orientation, for tests), bias (k,);
    ``bilstm``: forward then backward [kernel (k, 4r), recurrent kernel (r, 4r), bias (4r)];
    the dense layers: [W (in, out), b (out,)].
    """
    if weights not in WEIGHT_FILES:
        raise InputError(f"weights {weights!r}: choose among {', '.join(WEIGHT_FILES)}")
    path = original.path / WEIGHT_FILES[weights]
    if not path.is_file():
        raise InputError(f"{path}: weights file is missing")
    cfg, names = original.config, original.layers
    k, r, d, w = cfg.kernels, cfg.recurrent, cfg.dense, cfg.kernel_width
    flat = cfg.pooled_length * 2 * r
    dense_sizes = {"conv_dense": (k, k), "dense": (flat, d), "output": (d, cfg.n_tasks)}
    if cfg.n_meta or cfg.n_annotations:
        dense_sizes["extras_dense"] = (d + cfg.n_meta + cfg.n_annotations, d)
    try:
        with h5py.File(path, "r") as handle:
            h5 = _Weights(path, handle)
            conv = names["conv"]
            kernel = h5.get(conv, f"{conv}_W", (w, 1, cfg.channels, k))[:, 0]
            out = {"conv": [kernel[::-1] if flip else kernel, h5.get(conv, f"{conv}_b", (k,))]}
            for role, (n_in, n_out) in dense_sizes.items():
                layer = names[role]
                inner = layer if role != "conv_dense" else _inner_name(handle, path, layer)
                out[role] = [h5.get(layer, f"{inner}_W", (n_in, n_out)),
                             h5.get(layer, f"{inner}_b", (n_out,))]
            out["bilstm"] = []
            lstm = names["bilstm"]
            for direction in ("forward", "backward"):
                prefix = f"{direction}_{_lstm_suffix(handle, path, lstm)}"
                out["bilstm"] += [
                    np.concatenate([h5.get(lstm, f"{prefix}_{m}_{g}", shape) for g in GATES],
                                   axis=-1)
                    for m, shape in (("W", (k, r)), ("U", (r, r)), ("b", (r,)))]
    except OSError as error:
        raise InputError(f"{path}: not a readable HDF5 file ({error})") from None
    return out


def _weight_names(handle: h5py.File, path: Path, layer: str) -> list[str]:
    group = handle.get("model_weights", handle).get(layer)
    if group is None:
        raise InputError(f"{path}: weights of layer {layer!r} are missing")
    return [n.decode() if isinstance(n, bytes) else str(n)
            for n in group.attrs.get("weight_names", [])]


def _inner_name(handle: h5py.File, path: Path, layer: str) -> str:
    """The wrapped Dense's name (``dense_1``) inside a TimeDistributed layer's group."""
    found = [n[:-2] for n in _weight_names(handle, path, layer) if n.endswith("_W")]
    if len(found) != 1:
        raise InputError(f"{path}: layer {layer!r} does not hold one dense layer's weights")
    return found[0]


def _lstm_suffix(handle: h5py.File, path: Path, layer: str) -> str:
    """``lstm_1`` of the ``forward_lstm_1_W_i`` weight names in a Bidirectional layer's group."""
    found = [n[len("forward_"):-len("_W_i")] for n in _weight_names(handle, path, layer)
             if n.startswith("forward_") and n.endswith("_W_i")]
    if len(found) != 1:
        raise InputError(f"{path}: layer {layer!r} does not hold one bidirectional LSTM")
    return found[0]


def build_converted(original: OriginalModel, weights: str = "best", flip: bool = True
                    ) -> keras.Model:
    """Our Siamese model (see :func:`build_factornet`) carrying the original's weights.

    Inputs ``forward``/``reverse`` (batch, L, 4 + tracks) [+ ``meta`` (batch, n_meta),
    ``annotations`` (batch, 6)]; output (batch, n_tasks).
    """
    values = original_weights(original, weights, flip)
    model = build_factornet(original.config)
    trunk, head = model.get_layer("strand_trunk"), model.get_layer("strand_head")
    for name in ("conv", "conv_dense", "dense"):
        trunk.get_layer(name).set_weights(values[name])
    bilstm = trunk.get_layer("bilstm")
    bilstm.forward_layer.set_weights(values["bilstm"][:3])
    bilstm.backward_layer.set_weights(values["bilstm"][3:])
    for name in ("extras_dense", "output"):
        if name in values:
            head.get_layer(name).set_weights(values[name])
    for name, rate in original.dropouts.items():
        (trunk if name in ("conv_dropout", "trunk_dropout") else head).get_layer(name).rate = rate
    return model


def convert_original(src_dir, out_dir, weights: str = "best", overwrite: bool = False,
                     flip: bool = True) -> Path:
    """Convert an original FactorNet model folder into one of ours; returns the folder.

    ``out_dir`` gets chip.txt, bigwig.txt, feature.txt, meta.txt (meta models), model.keras and
    the run record run.json (``architecture``, ``converted_from``), as every model folder.
    ``flip=False`` skips the width reversal of the convolution kernels (wrong; for tests).
    """
    check_outputs([out_dir], overwrite, [src_dir])  # before reading anything
    original = read_original(src_dir)
    record = RunRecord("factornet conversion", {"src_dir": str(original.path.resolve()),
                                                "weights": weights, "flip": flip},
                       family="factornet", tfs=list(original.tfs),
                       architecture=asdict(original.config),
                       converted_from={"folder": str(original.path.resolve()),
                                       "weights": WEIGHT_FILES[weights],
                                       "framework": "Keras 1.1.1 (Theano)",
                                       "conv_kernel_flipped": flip,
                                       "dropout_rates": original.dropouts})
    with safe_output(out_dir, overwrite, inputs=[original.path]) as tmp:
        model = build_converted(original, weights, flip)
        tmp.mkdir()
        for name, lines in (("chip.txt", original.tfs), ("bigwig.txt", original.track_names),
                            ("feature.txt", original.features)):
            (tmp / name).write_text("".join(f"{line}\n" for line in lines))
        if "meta" in original.features:
            (tmp / "meta.txt").write_text("".join(f"{line}\n" for line in original.meta_names))
        model.save(tmp / "model.keras")
        record.write(tmp / RECORD_NAME)
    logger.info("converted %s (%s) into %s", original.path, WEIGHT_FILES[weights], out_dir)
    return Path(out_dir)
