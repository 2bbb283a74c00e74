"""The report of ``experiments/factornet/interpret.sh``: FactorNet's Fig. 3, the kernels of a
multi-task model as motifs (ffn-motifs), their best matches to known TF motifs in each database
and their DNase footprints."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..factornet.motifs import read_meme_motifs
from ..fiddle.evaluation import pyplot
from ..interpret.matching import TRIM_BITS, trim_flanks
from .factornet_scores import MODELS, read_model, training_note
from .results import Results

#: the run folder's ffn-motifs outputs, ``motifs.<key>``: key -> the database's name, in table order
DATABASES = {"demo": "demo motifs", "jaspar": "JASPAR", "hocomoco": "HOCOMOCO v9"}
#: the layers ffn-motifs reads -> the suffix of their files (``interpret.kernels.LAYERS``)
LAYER_SUFFIX = {"conv": "", "conv_dense": "2"}
#: the DNase track of the original's cell-type folders (bigwig.txt)
DNASE_TRACK = "DGF"
#: the column of a kernel motif's information content
BITS = "information content (bits)"
#: a match counts at this q-value or below
MATCH_Q = 0.05
#: first-layer kernels drawn in footprints.png
FOOTPRINTS_SHOWN = 8


def motif_runs(run_dir: Path) -> dict[str, Path]:
    """The ffn-motifs output folders of the run, ``motifs.<key>``: key -> folder, in
    :data:`DATABASES` order (other keys after, sorted)."""
    found = {path.name.split(".", 1)[1]: path for path in Path(run_dir).glob("motifs.*")
             if (path / "kernels.tsv").is_file()}
    if not found:
        raise InputError(f"{run_dir}: no motifs.<database>/kernels.tsv: ffn-motifs did not run "
                         "(run the experiment again)")
    order = [key for key in DATABASES if key in found] + sorted(set(found) - set(DATABASES))
    return {key: found[key] for key in order}


def _read_tsv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(f"{path}: missing: not a complete ffn-motifs output")
    return pd.read_csv(path, sep="\t", comment="#")


def best_matches(folder: Path) -> pd.DataFrame:
    """Each kernel's best match in ``folder/matches.tsv``: index (layer, kernel), columns
    ``match`` ("name (id)") and ``q``."""
    matches = _read_tsv(folder / "matches.tsv")
    best = matches[matches["rank"] == 1]
    return pd.DataFrame({"match": (best["target_name"].astype(str) + " ("
                                   + best["target_id"].astype(str) + ")").to_numpy(),
                         "q": best["q_value"].to_numpy()},
                        index=pd.MultiIndex.from_frame(best[["layer", "kernel"]]))


def footprint_depth(ppm: np.ndarray, signal: np.ndarray, min_bits: float = TRIM_BITS) -> float:
    """How much less DNase signal a kernel's motif core holds than its flanks: 1 - mean(signal
    over the core) / mean(signal over the other columns), the core being the columns kept by
    trimming end columns under ``min_bits`` bits (what TOMTOM matched). ``ppm`` (w, 4),
    ``signal`` (w,) the mean track under the kernel's sites; NaN without a core, flanks or
    flank signal."""
    core = np.zeros(len(ppm), bool)
    core[trim_flanks(ppm, min_bits)] = True
    if core.all() or not core.any():
        return math.nan
    flank = float(signal[~core].mean())
    return 1.0 - float(signal[core].mean()) / flank if flank > 0 else math.nan


def kernel_table(runs: dict[str, Path]) -> tuple[pd.DataFrame, np.ndarray | None]:
    """One row per kernel with sites (both layers): layer, kernel, sites, information content,
    the best match and its q-value in each database, the DNase footprint depth; rows by layer,
    then best q (any database), then information content. Also the first layer's DNase
    footprints (k, w), None without a DNase track."""
    folders = list(runs.values())
    kernels = _read_tsv(folders[0] / "kernels.tsv")
    for folder in folders[1:]:
        other = _read_tsv(folder / "kernels.tsv")
        if not other[["layer", "kernel", "nsites"]].equals(kernels[["layer", "kernel", "nsites"]]):
            raise InputError(f"{folder / 'kernels.tsv'}: other kernel sites than "
                             f"{folders[0] / 'kernels.tsv'}: the two ffn-motifs runs read "
                             "different models or windows")
    depth = pd.Series(math.nan, index=pd.MultiIndex.from_frame(kernels[["layer", "kernel"]]))
    signals = {}
    for layer, suffix in LAYER_SUFFIX.items():
        meansignal = folders[0] / f"{DNASE_TRACK}_meansignal{suffix}.npy"
        if not meansignal.is_file():
            continue  # a model without a DNase track
        signals[layer] = np.load(meansignal)
        for motif in read_meme_motifs(folders[0] / f"motifs{suffix}.meme"):
            k = int(motif.id.lstrip("M"))
            depth[(layer, k)] = footprint_depth(motif.ppm, signals[layer][k])
    table = kernels[kernels["nsites"] > 0].rename(columns={"nsites": "sites",
                                                           "bits": BITS}).copy()
    index = pd.MultiIndex.from_frame(table[["layer", "kernel"]])
    q_columns = []
    for key, folder in runs.items():
        name = DATABASES.get(key, key)
        best = best_matches(folder).reindex(index)
        table[f"{name} match"] = best["match"].to_numpy()
        table[f"{name} q"] = best["q"].to_numpy()
        q_columns.append(f"{name} q")
    table["DNase footprint depth"] = depth.reindex(index).to_numpy()
    order = np.lexsort((-table[BITS].to_numpy(), table[q_columns].min(axis=1).fillna(np.inf),
                        table["layer"].map(list(LAYER_SUFFIX).index).to_numpy()))
    return table.iloc[order].reset_index(drop=True), signals.get("conv")


def _matched_names(table: pd.DataFrame, column: str) -> list[str]:
    """The target names of ``column`` ("name (id)") in the rows whose q is at most MATCH_Q."""
    hits = table[table[column.replace(" match", " q")] <= MATCH_Q][column]
    return sorted({value.rsplit(" (", 1)[0] for value in hits})


def _names(values) -> set[str]:
    """TF names as the databases spell them, upper-cased, dimers split (``FOXA1::FOXA2``)."""
    return {part.upper() for value in values for part in str(value).split("::")}


def _chroms(chroms) -> str:
    """ffn-motifs' --chroms as words."""
    return "every chromosome" if not chroms or list(chroms) == ["all"] else ", ".join(chroms)


def _best(table: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per row, the match of the database where its q-value is lowest, and that q (NaN: none)."""
    q_columns = [c for c in table.columns if c.endswith(" q")]
    q = table[q_columns].to_numpy(float)
    best = np.argmin(np.where(np.isnan(q), np.inf, q), axis=1)
    rows = np.arange(len(table))
    matches = table[[c.replace(" q", " match") for c in q_columns]].to_numpy(object)
    return pd.Series(matches[rows, best], table.index), pd.Series(q[rows, best], table.index)


def _plot_footprints(table: pd.DataFrame, signals: np.ndarray, first_run: Path):
    """The DNase footprints of the best-matched first-layer kernels (q <= MATCH_Q; without any,
    those with the most sites), the motif's core shaded."""
    plt = pyplot()
    first = table[table["layer"] == "conv"]
    match, q = _best(first)
    shown = first[q <= MATCH_Q] if (q <= MATCH_Q).any() else first.sort_values("sites",
                                                                                ascending=False)
    shown = shown.head(FOOTPRINTS_SHOWN)
    columns = min(4, max(1, len(shown)))
    rows = max(1, math.ceil(len(shown) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.4 * rows),
                                squeeze=False, sharex=True)
    motifs = {int(m.id.lstrip("M")): m.ppm for m in read_meme_motifs(first_run / "motifs.meme")}
    for ax, (index, row) in zip(axes.ravel(), shown.iterrows()):
        kernel = int(row["kernel"])
        core = trim_flanks(motifs[kernel])
        ax.axvspan(core.start - 0.5, core.stop - 0.5, color="0.9")
        ax.plot(np.arange(signals.shape[1]), signals[kernel], color="tab:blue")
        label = (f"{match[index].rsplit(' (', 1)[0]}, q = {q[index]:.2g}"
                 if isinstance(match[index], str) else "no match")
        ax.set_title(f"kernel {kernel} ({row['sites']} sites): {label}", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(shown):]:
        ax.axis("off")
    figure.supxlabel("position in the kernel (bp); grey: the motif's core", fontsize=8)
    figure.supylabel(f"mean {DNASE_TRACK} signal", fontsize=8)
    figure.tight_layout()
    return figure


def report(run_dir: Path, mode: str) -> Results:
    run_dir = Path(run_dir)
    runs = motif_runs(run_dir)
    table, signals = kernel_table(runs)
    first_run = next(iter(runs.values()))
    record = json.loads((first_run / "run.json").read_text())
    settings = record["settings"]
    model_dir = Path(settings["model_dir"])
    chip = model_dir / "chip.txt"
    model_tfs = [line.split()[-1] for line in chip.read_text().splitlines() if line.strip()] \
        if chip.is_file() else []
    trained = sorted(p.name for p in (run_dir / MODELS).glob("*") if (p / "run.json").is_file())
    model_line = (training_note(read_model(run_dir, trained[0])) if trained else
                  f"`{model_dir}` (given with --model), TFs: {', '.join(model_tfs) or 'unknown'}.")
    counts = table.groupby("layer")["kernel"].count()
    notes = [
        f"Model: {model_line}",
        "",
        f"Kernels read by ffn-motifs (the original's visualize.py): {record['windows']:,} windows, "
        f"each on both strands, centred on the regions of `{Path(settings['bed']).name}` (the "
        f"cell type's conservative peaks) on {_chroms(settings['chroms'])}, "
        f"clear of the blacklist; {counts.get('conv', 0)} first-layer and "
        f"{counts.get('conv_dense', 0)} second-layer kernels had sites (a window and strand where "
        "the kernel's best activation is above 0), the others are left out of the table.",
        "",
        f"Matching: each kernel's motif trimmed of end columns under {settings['trim_bits']:g} "
        "bits and compared by TOMTOM (Pearson correlation of columns, both strands) with every "
        "motif of each database; q: Benjamini-Hochberg over the database's motifs. `DNase "
        "footprint depth`: 1 - (mean DNase signal over the motif's core, the columns kept by "
        "the trimming) / (mean over the kernel's other columns), from ffn-motifs' mean track "
        "under the kernel's sites: above 0, fewer cuts over the motif than beside it (a "
        "footprint); empty when the core fills the kernel.",
        "",
    ]
    found = set()
    for key, folder in runs.items():
        name = DATABASES.get(key, key)
        run_record = json.loads((folder / "run.json").read_text())
        database = run_record.get("motif_database") or {}
        names = _matched_names(table[table["layer"] == "conv"], f"{name} match")
        found |= _names(names)
        n_matched = int((table[(table["layer"] == "conv")][f"{name} q"] <= MATCH_Q).sum())
        notes.append(f"- {name} ({database.get('description', key)}, {database.get('motifs', '?')} "
                     f"motifs): {n_matched} of {counts.get('conv', 0)} first-layer kernels match "
                     f"a motif at q <= {MATCH_Q:g}; best matches: {', '.join(names) or 'none'}.")
    if model_tfs:
        hit = [tf for tf in model_tfs if tf.upper() in found]
        missed = [tf for tf in model_tfs if tf.upper() not in found]
        notes += ["", f"The model's TFs whose own motif is some first-layer kernel's best match at "
                      f"q <= {MATCH_Q:g} (names compared exactly): {', '.join(hit) or 'none'}; "
                      f"not found: {', '.join(missed) or 'none'}."]
    notes += [
        "",
        ("Paper: Fig. 3 of Quang & Xie (Methods 2019, PMC6708499) shows kernels of a HepG2 "
         "multi-task model matched to known motifs, with their DNase footprints. Its caption and "
         "text could not be read where this was written (only the article's abstract was "
         "reachable), so which TFs it shows is not listed here and nothing is compared with it "
         "beyond that: compare the logo sheets below with the figure." if mode == "full" else
         "Demo mode: the demo's planted CTCF and HNF4A motifs (factornet/motifs.meme) are the "
         "motifs to find; the paper's figure is not comparable."),
        "",
        "Logo sheets (every first-layer kernel with sites, by best q-value; ffn-motifs):",
        "",
        *[f"- {DATABASES.get(key, key)}: [motifs.{key}/logo_sheet.png](motifs.{key}/logo_sheet.png)"
          for key in runs],
        "",
        f"Best-matched first-layer kernels, logo with the footprint of each track beneath "
        f"({DATABASES.get(next(iter(runs)), next(iter(runs)))} titles):",
        "",
        *[f"![kernel {k}]({first_run.name}/logos/kernel_{k}.png)"
          for k in table[table["layer"] == "conv"]["kernel"].head(3)],
    ]
    figures = {} if signals is None else {
        "footprints.png": lambda: _plot_footprints(table, signals, first_run)}
    return Results("FactorNet, kernels of a multi-task model: motifs and DNase footprints "
                   "(Fig. 3)", table, notes, figures)
