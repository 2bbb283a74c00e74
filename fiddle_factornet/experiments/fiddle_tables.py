"""What the FIDDLE experiments share: the layout of their run folders, reading it back, a plot.

A FIDDLE experiment's run folder (``experiments/fiddle/*.sh``) holds ``models/<name>/``, the
model folders ffn-fiddle-train wrote, and ``eval/<name>.*``, what ffn-fiddle-evaluate
(``<name>.summary.json``) and ffn-fiddle-importance (``<name>.importance.json``) wrote for them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..fiddle.evaluation import pyplot

#: the run folder's model folders and evaluations
MODELS = "models"
EVALUATIONS = "eval"
#: the time stamps of a run record
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


def read_json(path: Path) -> dict:
    """A JSON file an experiment's command wrote; missing: an InputError naming it."""
    if not path.is_file():
        raise InputError(f"{path}: missing: the experiment did not get this far (run it again)")
    return json.loads(path.read_text())


@dataclass(frozen=True)
class TrainedModel:
    """One model of a run folder: its name, its model folder and that folder's run record."""

    name: str
    folder: Path
    record: dict

    @classmethod
    def read(cls, run_dir: Path, name: str) -> "TrainedModel":
        folder = Path(run_dir) / MODELS / name
        return cls(name, folder, read_json(folder / "run.json"))

    @property
    def settings(self) -> dict:
        return self.record["settings"]

    def evaluation(self, kind: str = "summary") -> dict:
        """What ffn-fiddle-evaluate (``summary``) or ffn-fiddle-importance (``importance``)
        wrote for this model."""
        return read_json(self.folder.parent.parent / EVALUATIONS / f"{self.name}.{kind}.json")

    def curve(self) -> np.ndarray:
        """The learning curve: a structured array (samples_seen, train_kl, valid_kl), one row a
        point."""
        path = self.folder / "learning_curve.csv"
        if not path.is_file():
            raise InputError(f"{path}: missing: the model folder has no learning curve")
        return np.genfromtxt(path, delimiter=",", names=True, ndmin=1)

    def figures(self) -> dict[str, float | str]:
        """Its table cells: bin accuracy (%) and mean KL on its held-out windows, the epochs
        trained (best/done) and the training time (minutes)."""
        prediction = self.evaluation()["prediction"]
        started, finished = (datetime.strptime(self.record[key], TIME_FORMAT)
                             for key in ("started", "finished"))
        return {"bin accuracy %": 100 * prediction["bin_accuracy"],
                "mean KL": prediction["mean_kl"],
                "epochs (best/run)": f"{self.record['best_epoch']}/{self.record['epochs_done']}",
                "training min": (finished - started).total_seconds() / 60}


def trained_models(run_dir: Path) -> dict[str, TrainedModel]:
    """Every model folder of the run folder, by name (sorted)."""
    folders = sorted(p for p in (Path(run_dir) / MODELS).glob("*") if p.is_dir())
    if not folders:
        raise InputError(f"{Path(run_dir) / MODELS}: no model folders: the experiment trained "
                         "nothing (run it again)")
    return {p.name: TrainedModel.read(run_dir, p.name) for p in folders}


def held_out_windows(models: list[TrainedModel]) -> int:
    """The number of held-out windows every model was evaluated on; an InputError when they
    were evaluated on different windows (another number, or other test windows)."""
    counts = {m.name: m.evaluation()["windows"] for m in models}
    beds = {m.name: (m.folder / "test_regions.bed").read_bytes() for m in models
            if (m.folder / "test_regions.bed").is_file()}
    if len(set(counts.values())) > 1 or len(set(beds.values())) > 1:
        raise InputError(f"{models[0].folder.parent}: the models were evaluated on different "
                         f"windows ({', '.join(f'{n}: {c}' for n, c in counts.items())}): they "
                         "must share their data and split settings")
    return next(iter(counts.values()))


def settings_note(model: TrainedModel) -> str:
    """A Markdown line: the sizes and training settings of a model, and its windows."""
    s, a = model.settings, model.record["architecture"]
    filters = " and ".join(map(str, a["module_filters"]))
    windows = model.record.get("windows")
    if s.get("hdf5"):
        data = f"; the authors' HDF5 datasets {', '.join(s['hdf5'])}"
    elif s.get("split") == "shuffle":
        data = (f"; {windows:,} windows, {windows - s['n_valid'] - s['n_test']:,} of them for "
                f"training, {s['n_valid']:,} validation, {s['n_test']:,} test")
    else:
        data = f"; {windows:,} windows, split by chromosome"
    return (f"Settings of `{model.name}`: modules of {filters} filters of width "
            f"{a['kernel_width']}, {a['representation']}-value representations, a scaffold of "
            f"{a['scaffold_filters']} filters, dropout {a['dropout']}; batches of "
            f"{s['batch_size']}, learning rate {s['learning_rate']:g}, at most {s['epochs']} "
            f"epochs (patience {s['patience']}), seed {s['seed']}{data}.")


def plot_learning_curves(curves: dict[str, np.ndarray], title: str):
    """Held-out KL against training samples seen, one line per model (label -> its curve)."""
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(6.5, 4))
    for label, curve in curves.items():
        axes.plot(curve["samples_seen"], curve["valid_kl"], marker="o" if len(curve) <= 30
                  else None, markersize=3, label=label)
    axes.set(xlabel="training samples seen", ylabel="held-out KL divergence", title=title)
    axes.xaxis.set_major_formatter(lambda x, _: f"{x / 1000:g}k" if abs(x) >= 1000 else f"{x:g}")
    axes.legend(fontsize=8)
    figure.tight_layout()
    return figure

