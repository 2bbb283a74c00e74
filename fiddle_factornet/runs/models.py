"""One loader for every model folder: FactorNet (trained or converted) and FIDDLE.

A model folder holds ``model.keras`` and its run record ``run.json``, whose ``family`` says which
model family it is and whose ``architecture`` rebuilds the model. Folders written before the run
record existed hold ``config.json`` instead (FactorNet's beside ``chip.txt``; FIDDLE's with its
``inputs``) and load the same way. Adding a family means adding it to :data:`FAMILIES` (the module
whose import registers its custom Keras objects) and writing its record through
:mod:`~fiddle_factornet.runs.training`.

Wherever a model folder is asked for, a shipped model's name will do when no folder of that path
exists (:func:`resolve_model_dir`): the folders of ``$FIDDLE_FACTORNET_MODELS`` (colon-separated),
then the checkout's ``models/``, are searched for a model folder of that name. A model's name is
its path below such a folder, less the leading ``factornet/`` of the original FactorNet models
(``models/factornet/HNF4A/onePeak_Unique35_DGF`` is ``HNF4A/onePeak_Unique35_DGF``,
``models/demo/factornet_CTCF`` is ``demo/factornet_CTCF``).
"""

from __future__ import annotations

import difflib
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


#: colon-separated folders searched for model names before the checkout's models/
MODELS_ENV = "FIDDLE_FACTORNET_MODELS"
#: the models folder of the checkout (the shipped models)
CHECKOUT_MODELS = Path(__file__).resolve().parents[2] / "models"
#: folders below a models folder whose name is not part of their models' names
UNNAMED_GROUPS = ("factornet",)


def model_roots() -> list[Path]:
    """The folders searched for model names: ``$FIDDLE_FACTORNET_MODELS``'s, then the checkout's
    ``models/`` (those that exist)."""
    listed = [Path(part).expanduser() for part in os.environ.get(MODELS_ENV, "").split(os.pathsep)
              if part]
    return [root for root in (*listed, CHECKOUT_MODELS) if root.is_dir()]


def default_models_dir() -> Path:
    """Where new models go: the first folder of ``$FIDDLE_FACTORNET_MODELS``, else the
    checkout's ``models/``."""
    listed = [part for part in os.environ.get(MODELS_ENV, "").split(os.pathsep) if part]
    return Path(listed[0]).expanduser() if listed else CHECKOUT_MODELS


def model_name(root: Path, folder: Path) -> str:
    """The name of the model folder ``folder`` found below ``root``."""
    parts = folder.relative_to(root).parts
    if len(parts) > 1 and parts[0] in UNNAMED_GROUPS:
        parts = parts[1:]
    return "/".join(parts)


def find_models(roots: list[Path] | None = None) -> dict[str, Path]:
    """name -> folder of every model folder (a folder holding ``model.keras``) below ``roots``
    (default :func:`model_roots`); a name found in an earlier root hides the later ones."""
    found: dict[str, Path] = {}
    for root in model_roots() if roots is None else roots:
        for current, folders, files in os.walk(root):
            if "model.keras" in files:
                found.setdefault(model_name(root, Path(current)), Path(current))
                folders.clear()  # a model folder holds no other model
            else:
                folders[:] = sorted(f for f in folders  # not hidden or unfinished outputs
                                    if not f.startswith(".") and not f.endswith(".partial"))
    return found


def resolve_model_dir(path: str | os.PathLike) -> Path:
    """``path`` when it exists, else the model folder of that name (see the module's docstring);
    an InputError naming the closest names when there is none."""
    path = Path(path)
    if path.exists():
        return path
    models = find_models()
    name = path.as_posix().strip("/")
    if name in models:
        return models[name]
    lowered = {known.lower(): known for known in models}
    close = [known for known in models if name.lower() in known.lower()]
    close += [lowered[match] for match in difflib.get_close_matches(name.lower(), lowered, n=5,
                                                                    cutoff=0.5)]
    close = list(dict.fromkeys(close))[:5]
    hint = f"; close names: {', '.join(close)}" if close else \
        f" ({len(models)} models known; ffn-models lists them)"
    raise InputError(f"{path}: model folder not found, nor a model of that name{hint}")


def open_model_folder(path: str | os.PathLike, family: str | None = None) -> ModelFolder:
    """Open the model folder at ``path`` (or the model of that name: :func:`resolve_model_dir`);
    with ``family``, refuse a folder of another kind."""
    path = resolve_model_dir(path)
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
