"""One loader for every model folder: FactorNet (trained or converted) and FIDDLE.

A model folder holds ``model.keras`` and its run record ``run.json``, whose ``family`` says which
model family it is and whose ``architecture`` rebuilds the model. Folders written before the run
record existed hold ``config.json`` instead (FactorNet's beside ``chip.txt``; FIDDLE's with its
``inputs``) and load the same way. Adding a family means adding it to :data:`FAMILIES` (the module
whose import registers its custom Keras objects) and writing its record through
:mod:`~fiddle_factornet.runs.training`.
"""

from __future__ import annotations

import importlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from .record import RECORD_NAME, read_record

#: family -> (name people read, module registering its custom Keras objects)
FAMILIES = {
    "factornet": ("FactorNet", "fiddle_factornet.factornet.model"),
    "fiddle": ("FIDDLE", "fiddle_factornet.fiddle.model"),
}


def _legacy_record(path: Path) -> dict[str, Any] | None:
    """The record of a folder of the earlier layout (config.json), in run.json's shape."""
    config_path = path / "config.json"
    if not config_path.is_file():
        return None
    try:
        config = json.loads(config_path.read_text())
    except ValueError as error:
        raise InputError(f"{config_path}: not valid JSON ({error})") from None
    if (path / "chip.txt").is_file():
        family = "factornet"
    elif "inputs" in config:
        family = "fiddle"
    else:
        return None
    settings = dict(config.get("training", {}))
    if "regions" in config:
        settings["regions"] = config["regions"]
    extras = {key: config[key] for key in ("inputs", "controls", "target", "converted_from")
              if key in config}
    return {"family": family, "architecture": config["architecture"], "settings": settings,
            **extras}


@dataclass(frozen=True)
class ModelFolder:
    """A model folder: its family, its record (settings, architecture, ...) and its model."""

    path: Path
    family: str
    record: dict[str, Any]

    @property
    def architecture(self) -> dict[str, Any]:
        return self.record["architecture"]

    def load_model(self):
        """The trained Keras model (best weights)."""
        import keras

        importlib.import_module(FAMILIES[self.family][1])  # registers the custom objects
        path = self.path / "model.keras"
        try:
            return keras.models.load_model(path)
        except Exception as error:  # a truncated or foreign file: zip, h5 or config errors
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise InputError(f"{path}: cannot be read as a Keras model ({first})") from None


def open_model_folder(path: str | os.PathLike, family: str | None = None) -> ModelFolder:
    """Open the model folder at ``path``; with ``family``, refuse a folder of another kind."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"{path}: model folder not found")
    if (path / RECORD_NAME).is_file():
        record = read_record(path / RECORD_NAME)
        if record.get("family") not in FAMILIES:
            raise InputError(f"{path / RECORD_NAME}: the record of a run that wrote no model "
                             f"({record.get('what', 'unknown')}), not a model folder")
    else:
        record = _legacy_record(path)
    if record is None:
        if (path / "model.json").is_file() and any(path.glob("*_model.hdf5")):
            raise InputError(f"{path}: an original FactorNet model (Keras 1); convert it first "
                             "(ffn-convert)")
        raise InputError(f"{path}: not a model folder (no {RECORD_NAME} or config.json)")
    if not (path / "model.keras").is_file():
        raise InputError(f"{path}: model folder without model.keras")
    found = record["family"]
    if family is not None and found != family:
        raise InputError(f"{path}: a {FAMILIES[found][0]} model folder, not a "
                         f"{FAMILIES[family][0]} one")
    return ModelFolder(path, found, record)
