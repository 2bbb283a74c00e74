"""The run record, ``run.json``, written beside (or, for a folder, inside) every output.

It says what made the output: the command and its argv, the package version, every resolved
setting (paths absolute; a model's architecture, so that the model can be rebuilt from the record
alone), start and end time, the device, and what the run adds (e.g. the epochs a training run did).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from .. import __version__

RECORD_NAME = "run.json"
FORMAT = 1


def path_field(default=dataclasses.MISSING):
    """A dataclass field holding a path (or a tuple of paths): recorded as absolute paths."""
    return dataclasses.field(default=default, metadata={"path": True})


def absolute(value):
    """A path (or paths) as absolute path strings, for a record; None stays None."""
    if value is None:
        return None
    if isinstance(value, (tuple, list)):
        return [absolute(v) for v in value]
    return str(Path(value).expanduser().resolve())


def settings_record(settings) -> dict[str, Any]:
    """A settings dataclass as a JSON-ready dict; fields made with :func:`path_field` absolute."""
    record = {}
    for item in dataclasses.fields(settings):
        value = getattr(settings, item.name)
        if item.metadata.get("path"):
            record[item.name] = absolute(value)
        elif dataclasses.is_dataclass(value):
            record[item.name] = settings_record(value)
        else:
            record[item.name] = list(value) if isinstance(value, tuple) else value
    return record


def describe_device() -> str:
    """Where Keras computes: the backend and its GPUs, or the CPU."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf
        gpus = [gpu.name for gpu in tf.config.list_physical_devices("GPU")]
    elif backend == "jax":
        import jax
        gpus = [str(d) for d in jax.devices() if d.platform == "gpu"]
    elif backend == "torch":
        import torch
        gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    else:
        gpus = []
    return f"{backend}: " + (", ".join(gpus) if gpus else "CPU (no GPU seen)")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


class RunRecord:
    """The record of one run: made when the run starts, completed and written when it ends."""

    def __init__(self, what: str, settings: dict[str, Any], device: str | None = None,
                 **extra: Any):
        self.data: dict[str, Any] = {
            "format": FORMAT, "what": what,
            "command": os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python",
            "argv": list(sys.argv), "version": __version__, "cwd": os.getcwd(),
            "started": _now(), "finished": None, "device": device,
            "settings": settings, **extra}

    def update(self, **values: Any) -> "RunRecord":
        self.data.update(values)
        return self

    def text(self) -> str:
        """The completed record as JSON (sets the finishing time)."""
        self.data["finished"] = _now()
        return json.dumps(self.data, indent=1) + "\n"

    def write(self, path: str | os.PathLike) -> None:
        Path(path).write_text(self.text())


def record_path(output: str | os.PathLike) -> Path:
    """Where the record of an output file goes: ``<output>.run.json`` beside it."""
    output = Path(output)
    return output.with_name(f"{output.name}.{RECORD_NAME}")


def read_record(path: str | os.PathLike) -> dict[str, Any]:
    from ..errors import InputError

    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: not a readable run record ({error})") from None
