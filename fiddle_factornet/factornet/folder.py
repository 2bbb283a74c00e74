"""A FactorNet model folder as prediction reads it: the model and what it was trained on.

Written by training or by the conversion of an original model; opened through the one loader
(:func:`fiddle_factornet.runs.models.open_model_folder`). Beside the run record, the folder keeps
the original's description files: ``chip.txt`` (the TFs of the outputs), ``bigwig.txt`` (track
names), ``feature.txt`` (``bigwig``, ``meta``, ``gencode``) and ``meta.txt`` (meta names).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..runs.models import open_model_folder
from .celltype import CellTypeFolder
from .model import FactorNetConfig


def _lines(path: Path) -> tuple[str, ...]:
    if not path.is_file():
        raise InputError(f"{path}: file is missing (a FactorNet model folder has it)")
    return tuple(line.strip() for line in path.read_text().splitlines() if line.strip())


@dataclass(frozen=True)
class FactorNetModel:
    """A trained FactorNet model and what it was trained on."""

    path: Path
    model: object  # keras.Model
    architecture: FactorNetConfig
    tfs: tuple[str, ...]
    track_names: tuple[str, ...]
    meta_names: tuple[str, ...]
    features: tuple[str, ...]

    @classmethod
    def load(cls, path: str | os.PathLike) -> "FactorNetModel":
        folder = open_model_folder(path, "factornet")
        path = folder.path
        features = _lines(path / "feature.txt")
        meta_names = _lines(path / "meta.txt") if "meta" in features else ()
        return cls(path, folder.load_model(), FactorNetConfig(**folder.architecture),
                   _lines(path / "chip.txt"), _lines(path / "bigwig.txt"), meta_names, features)

    def check_cell_type(self, cell: CellTypeFolder) -> None:
        """The folder must provide the tracks and meta features the model was trained on."""
        if cell.track_names != self.track_names:
            raise InputError(f"{cell.path / 'bigwig.txt'}: track names {list(cell.track_names)} "
                             f"differ from the model's {list(self.track_names)} ({self.path})")
        if "meta" in self.features and cell.meta_names != self.meta_names:
            raise InputError(f"{cell.path / 'meta.txt'}: meta names {list(cell.meta_names)} differ "
                             f"from the model's {list(self.meta_names)} ({self.path})")

    def output_index(self, tf: str) -> int:
        if tf not in self.tfs:
            raise InputError(f"{self.path / 'chip.txt'}: the model does not predict {tf!r} "
                             f"(it predicts {', '.join(self.tfs)})")
        return self.tfs.index(tf)
