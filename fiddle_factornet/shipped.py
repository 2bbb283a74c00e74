"""The models we ship (``models/``): their cards, and the synthetic inputs that check them.

Every shipped model folder holds, beside the model (``model.keras``, ``run.json`` and the
description files), a model card: ``card.json`` (machine-readable) and ``MODEL.md`` (the same
facts for people). The card records the **check**: the predictions the model gave, when it was
converted or trained, on a small seeded synthetic input (:func:`write_factornet_check_inputs`:
a random genome on hg19's chromosome names, random bigWig tracks of the model's track names,
meta features and annotation BEDs when the model uses them, 20 fixed bins;
:func:`write_fiddle_check_inputs` for FIDDLE: a genome, the model's input tracks and two genes).
``tests/test_shipped_models.py`` predicts again through ``ffn-predict`` / ``ffn-fiddle-predict``
and compares.

:func:`ship_original` converts one of the original FactorNet's published models and writes its
card; :func:`fetch_originals` fetches the others it published and ships each;
:func:`ship_trained` writes the card of a model trained here; :func:`describe` is what
``ffn-models`` lists.
"""

from __future__ import annotations

import json
import logging
import os
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import __version__
from .data.fetch import file_md5
from .errors import InputError
from .runs.models import find_models, model_roots

logger = logging.getLogger(__name__)

CARD_JSON = "card.json"
CARD_MD = "MODEL.md"
CARD_FORMAT = 1
#: what every card holds (``original`` too, for converted originals: its url and files' md5)
CARD_FIELDS = ("card_format", "name", "family", "source", "tfs", "variant", "variant_meaning",
               "tracks", "meta", "annotations", "input_length", "trained_on", "test_cell_type",
               "paper_scores", "made", "check", "usage")
#: seed of the synthetic check inputs
CHECK_SEED = 13
#: tolerance of the check: relative, and absolute on probabilities (predictions are recorded with
#: 9 significant digits)
CHECK_RTOL, CHECK_ATOL = 1e-5, 1e-8
NOT_AVAILABLE = "not available here"
ORIGINAL_REPOSITORY = "https://github.com/uci-cbcl/FactorNet"
#: the files of an original model folder that conversion reads
ORIGINAL_FILES = ("model.json", "best_model.hdf5", "chip.txt", "bigwig.txt", "feature.txt",
                  "meta.txt")
LICENSE_NOTICE = ("The models in this folder are converted copies of the ENCODE-DREAM models "
                  f"published by uci-cbcl/FactorNet ({ORIGINAL_REPOSITORY}, models/), "
                  "converted with fiddle_factornet's converter (ffn-convert); the original's "
                  "licence follows.")

# ---------------------------------------------------------------------------------------------
# what the original and the challenge document about the models

#: a variant (the model folder's name up to its first "_") -> what it means
VARIANTS = {
    "onePeak": "single-task (one TF; bins from its peaks in the reference cell types, pooled); "
               "inputs: DNA and the bigWig tracks",
    "meta": "single-task, plus the cell type's meta features (meta.txt: 8 gene-expression "
            "principal components), joined after the first dense layer",
    "GENCODE": "single-task, plus six per-bin annotation booleans (CpG island, CDS, intron, "
               "promoter, 5' UTR, 3' UTR), joined after the first dense layer",
    "metaGENCODE": "single-task, plus both the meta features and the six annotation booleans",
    "multiTask": "multi-task: one output per TF of chip.txt, trained on one cell type "
                 "(ambiguous bins counted as negatives)",
}

#: ENCODE-DREAM's final round: the test cell type(s) of each of its 12 TFs (13 TF/cell pairs);
#: the original's data/ holds liver, PC-3 and induced_pluripotent_stem_cell without ChIP-seq
FINAL_ROUND = {
    "CTCF": ("PC-3", "induced_pluripotent_stem_cell"), "E2F1": ("K562",), "EGR1": ("liver",),
    "FOXA1": ("liver",), "FOXA2": ("liver",), "GABPA": ("liver",), "HNF4A": ("liver",),
    "JUND": ("liver",), "MAX": ("liver",), "NANOG": ("induced_pluripotent_stem_cell",),
    "REST": ("liver",), "TAF1": ("liver",),
}

#: the cell types whose ChIP-seq peaks of the TF the original's data/ folder holds
#: (``data/<cell type>/ChIPseq.<cell type>.<TF>.conservative.train.narrowPeak.gz``): the
#: challenge's training data for the TF
CHALLENGE_TRAINING = {
    "CTCF": ("A549", "H1-hESC", "HeLa-S3", "HepG2", "IMR-90", "K562", "MCF-7"),
    "E2F1": ("GM12878", "HeLa-S3"),
    "EGR1": ("GM12878", "H1-hESC", "HCT116", "MCF-7"),
    "FOXA1": ("HepG2",), "FOXA2": ("HepG2",),
    "GABPA": ("GM12878", "H1-hESC", "HeLa-S3", "HepG2", "MCF-7"),
    "HNF4A": ("HepG2",),
    "JUND": ("HCT116", "HeLa-S3", "HepG2", "K562", "MCF-7"),
    "MAX": ("A549", "GM12878", "H1-hESC", "HCT116", "HeLa-S3", "HepG2", "K562"),
    "NANOG": ("H1-hESC",),
    "REST": ("H1-hESC", "HeLa-S3", "HepG2", "MCF-7", "Panc1"),
    "TAF1": ("GM12878", "H1-hESC", "HeLa-S3", "K562"),
}


@dataclass(frozen=True)
class ReadmeExample:
    """One of the original README's example training commands (train.py's defaults filled in:
    -L 1000, -w 26, -k 32, -r 32, -d 128)."""

    command: str
    cell_types: tuple[str, ...]
    length: int = 1000
    width: int = 26
    kernels: int = 32
    recurrent: int = 32
    dense: int = 128


#: (TF, variant) -> the README's example command for it (multiTask: TF None)
README_EXAMPLES = {
    (None, "multiTask"): ReadmeExample(
        "python train.py -i data/HepG2 -k 128 -r 128 -d 256 -oc multiTask_Unique35_DGF_HepG2",
        ("HepG2",), kernels=128, recurrent=128, dense=256),
    ("MAX", "onePeak"): ReadmeExample(
        "python train.py -f MAX -k 128 -r 64 -d 128 -n 3 -e 5 -i data/A549 data/GM12878 "
        "data/H1-hESC data/HCT116 data/HeLa-S3 data/HepG2 data/K562 "
        "-oc onePeak_Unique35_DGF_3n_50e_128k_64r_128d_MAX",
        ("A549", "GM12878", "H1-hESC", "HCT116", "HeLa-S3", "HepG2", "K562"), kernels=128,
        recurrent=64),
    ("GABPA", "meta"): ReadmeExample(
        "python train.py -f GABPA -n 5 -m -i data/GM12878 data/H1-hESC data/HeLa-S3 data/HepG2 "
        "data/MCF-7 -oc meta_Unique35_DGF_5n_GABPA",
        ("GM12878", "H1-hESC", "HeLa-S3", "HepG2", "MCF-7")),
    ("REST", "GENCODE"): ReadmeExample(
        "python train.py -f REST -k 64 -d 128 -g -i data/H1-hESC data/HeLa-S3 data/HepG2 "
        "data/MCF-7 data/Panc1 -oc GENCODE_Unique35_DGF_64k_128d_REST",
        ("H1-hESC", "HeLa-S3", "HepG2", "MCF-7", "Panc1"), kernels=64),
    ("CTCF", "metaGENCODE"): ReadmeExample(
        "python train.py -f CTCF -k 128 -r 64 -d 128 -m -g -i data/A549 data/H1-hESC "
        "data/HeLa-S3 data/HepG2 data/IMR-90 data/K562 data/MCF-7 "
        "-oc metaGENCODE_Unique35_DGF_129k_64r_128d_CTCF",
        ("A549", "H1-hESC", "HeLa-S3", "HepG2", "IMR-90", "K562", "MCF-7"), kernels=128,
        recurrent=64),
}

#: how to make each track the original models read
TRACK_HOWTO = {
    "DGF": "DNase-seq 5' cuts, a 1x-normalised bigWig at 1 bp (the original's data README: "
           "samtools merge of the replicate BAMs, then deepTools bamCoverage --normalizeTo1x "
           "2478297382 --Offset 1 --binSize 1; bin/ffn-dnase-bigwig); the challenge's cell "
           "types' files: data_manifest.txt, groups dream-<cell type> (Synapse)",
    "Unique35": "Duke 35 bp mapability uniqueness, wgEncodeDukeMapabilityUniqueness35bp.bigWig "
                "(UCSC; data_manifest.txt, group mappability), one copy linked into every "
                "cell-type folder",
}
META_HOWTO = ("meta.txt of the cell-type folder: the 8 gene-expression principal components "
              "GEPC1..GEPC8 (the original's data/<cell type>/meta.txt; data_manifest.txt, groups "
              "dream-<cell type>)")
ANNOTATIONS_HOWTO = ("the six BEDs of the original's resources/ (data_manifest.txt, group "
                     "factornet-resources), their folder given to ffn-predict -g")
PAPER_SCORES_NOTE = ("The FactorNet paper's final-round figures (Quang & Xie, Methods 2019, "
                     "PMC6708499, Table 1) could not be read here; they score the submitted "
                     "(bagged) predictions, not one model.")


def variant_of(folder_name: str) -> str:
    """The variant of an original model folder's name (``meta_RNAseq_Unique35_DGF`` -> meta)."""
    variant = folder_name.split("_", 1)[0]
    if variant not in VARIANTS:
        raise InputError(f"{folder_name}: not an original FactorNet model folder name (variant "
                         f"{variant!r} is none of {', '.join(VARIANTS)})")
    return variant


# ---------------------------------------------------------------------------------------------
# the synthetic check inputs


@dataclass(frozen=True)
class FactorNetCheckInputs:
    """The files ffn-predict reads to score the check bins (``bins``: :data:`CHECK_BINS`)."""

    cell_dir: Path
    genome: Path
    blacklist: Path
    bins: Path
    annotations_dir: Path | None


#: the synthetic genome: hg19 chromosome names, short
CHECK_CHROMS = (("chr1", 24_000), ("chr21", 16_000))
#: 12 consecutive bins (the stretch path) and 8 isolated ones (scored window by window)
CHECK_BINS = tuple([("chr1", 8_000 + 50 * i, 8_200 + 50 * i) for i in range(12)]
                   + [("chr21", 3_000 + 1_500 * i, 3_200 + 1_500 * i) for i in range(8)])


def _random_genome(rng: np.random.Generator) -> dict[str, str]:
    """Random sequence, GC 42 %, one run of N and one soft-masked stretch a chromosome."""
    genome = {}
    for name, size in CHECK_CHROMS:
        codes = rng.choice(4, size=size, p=[0.29, 0.21, 0.21, 0.29])
        text = np.array(list("ACGT"))[codes]
        text[size // 4:size // 4 + 80] = "N"
        text[size // 2:size // 2 + 400] = np.char.lower(text[size // 2:size // 2 + 400])
        genome[name] = "".join(text)
    return genome


def _random_track(rng: np.random.Generator, name: str, size: int) -> np.ndarray:
    """(size,) per-base values: mapability-like (0, 0.5, 1 in runs) for Unique35 and names
    like it, DNase-like (sparse cuts, denser in a few open regions) for the others."""
    if "unique" in name.lower() or "mapab" in name.lower():
        runs = rng.choice([0.0, 0.5, 1.0], size=size // 50 + 1, p=[0.1, 0.1, 0.8])
        return np.repeat(runs, 50)[:size]
    rate = np.full(size, 0.05)
    for start in rng.integers(0, size - 600, size=6):
        rate[start:start + 600] = 0.6
    return rng.poisson(rate).astype(np.float64) * rng.gamma(2.0, 0.5, size=size)


def write_factornet_check_inputs(out_dir: str | os.PathLike, track_names: Sequence[str],
                                 meta_names: Sequence[str] = (), annotations: bool = False,
                                 seed: int = CHECK_SEED) -> FactorNetCheckInputs:
    """Write a synthetic cell type for a FactorNet model into ``out_dir`` (created).

    ``cell/`` (bigwig.txt, one bigWig per track name, meta.txt with random values for
    ``meta_names``), ``genome.fa``, ``blacklist.bed`` (one interval far from the bins),
    ``bins.bed`` (:data:`CHECK_BINS`) and, with ``annotations``, ``annotations/`` (the six BEDs
    ffn-predict -g reads, random intervals). The same arguments give the same contents.
    """
    from .data.writers import write_bed, write_bigwig, write_fasta
    from .factornet.annotations import ANNOTATION_FILES

    out = Path(out_dir)
    cell = out / "cell"
    cell.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    write_fasta(out / "genome.fa", _random_genome(rng))
    lines = []
    for index, name in enumerate(track_names):
        file = f"track{index}.bw"
        write_bigwig(cell / file, CHECK_CHROMS,
                     {chrom: _random_track(rng, name, size) for chrom, size in CHECK_CHROMS})
        lines.append(f"{file}\t{name}\n")
    (cell / "bigwig.txt").write_text("".join(lines))
    if meta_names:
        values = rng.normal(0.0, 0.5, size=len(meta_names))
        (cell / "meta.txt").write_text("".join(f"{value:.6f}\t{name}\n"
                                               for value, name in zip(values, meta_names)))
    write_bed(out / "blacklist.bed", [("chr1", 20_000, 20_100)])
    write_bed(out / "bins.bed", CHECK_BINS)
    annotations_dir = None
    if annotations:
        annotations_dir = out / "annotations"
        annotations_dir.mkdir()
        for _, file in ANNOTATION_FILES:
            rows = []
            for chrom, size in CHECK_CHROMS:
                starts = np.sort(rng.integers(0, size - 1_000, size=5))
                ends = starts + rng.integers(100, 900, size=5)
                rows += [(chrom, int(start), int(end)) for start, end in zip(starts, ends)]
            write_bed(annotations_dir / file, rows)
    return FactorNetCheckInputs(cell, out / "genome.fa", out / "blacklist.bed", out / "bins.bed",
                                annotations_dir)


#: the meta features of the original's meta and metaGENCODE models (its data/<cell>/meta.txt)
ORIGINAL_META_NAMES = tuple(f"GEPC{i}" for i in range(1, 9))


def write_original_check_inputs(out_dir: str | os.PathLike) -> FactorNetCheckInputs:
    """The synthetic cell type every original model can predict on: the Unique35 and DGF tracks,
    the 8 meta features and the six annotation BEDs (:func:`write_factornet_check_inputs`)."""
    return write_factornet_check_inputs(out_dir, ("Unique35", "DGF"), ORIGINAL_META_NAMES,
                                        annotations=True)


def factornet_check_command(inputs: FactorNetCheckInputs, model: str, tf: str,
                            output: str | os.PathLike) -> list[str]:
    """ffn-predict's arguments (without the command) scoring the check bins."""
    args = ["-i", str(inputs.cell_dir), "-m", model, "-f", tf, "-b", str(inputs.bins),
            "--genome", str(inputs.genome), "--blacklist", str(inputs.blacklist),
            "-o", str(output)]
    if inputs.annotations_dir is not None:
        args += ["-g", str(inputs.annotations_dir)]
    return args


def read_submission_scores(path: str | os.PathLike) -> list[float]:
    """The score column of a submission file written by ffn-predict, in row order."""
    return np.loadtxt(path, usecols=3, ndmin=1, dtype=np.float64).tolist()


@dataclass(frozen=True)
class FiddleCheckInputs:
    """The files ffn-fiddle-predict reads to predict the check genes."""

    manifest: Path
    genes: Path


#: the synthetic genome of a FIDDLE check, and its genes (one on each strand)
FIDDLE_CHECK_CHROMS = (("chrI", 6_000), ("chrII", 5_000))
FIDDLE_CHECK_GENES = (("chrI", 1_500, 2_700, "geneP", 0, "+"),
                      ("chrII", 1_800, 3_400, "geneM", 0, "-"))


def write_fiddle_check_inputs(out_dir: str | os.PathLike, inputs: dict[str, str],
                              seed: int = CHECK_SEED) -> FiddleCheckInputs:
    """Write synthetic FIDDLE inputs into ``out_dir`` (created): for each ``inputs`` track
    (name -> kind: dna, stranded or merged) its FASTA or random count bigWig(s), the manifest
    ``tracks.tsv`` naming them (inputs only) and ``genes.bed`` (:data:`FIDDLE_CHECK_GENES`)."""
    from .data.writers import write_bed, write_bigwig, write_fasta

    out = Path(out_dir)
    out.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    lines = ["name\trole\tkind\tfiles\n"]
    for name, kind in inputs.items():
        if kind == "dna":
            sequences = {chrom: "".join(np.array(list("ACGT"))[rng.integers(0, 4, size)])
                         for chrom, size in FIDDLE_CHECK_CHROMS}
            files = [write_fasta(out / f"{name}.fa", sequences).name]
        else:
            strands = ("plus", "minus") if kind == "stranded" else ("all",)
            files = []
            for strand in strands:
                values = {chrom: rng.poisson(rng.gamma(0.5, 2.0, size)).astype(np.float64)
                          for chrom, size in FIDDLE_CHECK_CHROMS}
                files.append(write_bigwig(out / f"{name}.{strand}.bw", FIDDLE_CHECK_CHROMS,
                                          values).name)
        lines.append(f"{name}\tinput\t{kind}\t{','.join(files)}\n")
    (out / "tracks.tsv").write_text("".join(lines))
    write_bed(out / "genes.bed", FIDDLE_CHECK_GENES)
    return FiddleCheckInputs(out / "tracks.tsv", out / "genes.bed")


def fiddle_check_command(inputs: FiddleCheckInputs, model: str,
                         output: str | os.PathLike) -> list[str]:
    """ffn-fiddle-predict's arguments (without the command) predicting the check genes."""
    return ["-m", model, "--genes", str(inputs.genes), "--manifest", str(inputs.manifest),
            "-o", str(output)]


#: how many predicted values a check records
CHECK_VALUES = 20


def read_fiddle_check_values(profiles: str | os.PathLike) -> list[float]:
    """:data:`CHECK_VALUES` values of ``profiles.h5``'s (n, L) profiles, at 20 windows spread
    over the n: the peak probability of the first ten, the mass in the first half of the other
    ten (probabilities far from 0, so that a relative tolerance holds)."""
    import h5py

    with h5py.File(profiles, "r") as handle:
        profile = handle["profile"][:]
    n, length = profile.shape
    windows = profile[np.arange(CHECK_VALUES) * n // CHECK_VALUES].astype(np.float64)
    half = CHECK_VALUES // 2
    values = np.concatenate([windows[:half].max(axis=1),
                             windows[half:, :length // 2].sum(axis=1)])
    return [float(f"{value:.9g}") for value in values]


def fiddle_inputs_of(folder: Path) -> dict[str, str]:
    """A FIDDLE model folder's input tracks, name -> kind (by the rows of each input: 4 dna,
    2 stranded, 1 merged)."""
    from .runs.models import open_model_folder

    record = open_model_folder(folder, "fiddle").record
    rows = dict(record["architecture"]["tracks"])
    kinds = {4: "dna", 2: "stranded", 1: "merged"}
    return {name: kinds[rows[name]] for name in record["inputs"]}


# ---------------------------------------------------------------------------------------------
# what a model folder describes


def _lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()] \
        if path.is_file() else []


def folder_facts(folder: str | os.PathLike) -> dict[str, Any]:
    """What a model folder says of itself, without loading the model: family, TFs (FactorNet)
    or target (FIDDLE), input tracks, meta names, features, input length and the record."""
    from .runs.models import open_model_folder

    folder = Path(folder)
    model_folder = open_model_folder(folder)
    family, record = model_folder.family, model_folder.record
    architecture = record["architecture"]
    if family == "fiddle":
        return {"family": family, "tfs": [], "target": record.get("target"),
                "tracks": list(record.get("inputs", [])), "meta": [], "features": [],
                "input_length": architecture.get("length"), "record": record}
    features = _lines(folder / "feature.txt")
    return {"family": family, "tfs": _lines(folder / "chip.txt"), "target": None,
            "tracks": _lines(folder / "bigwig.txt"),
            "meta": _lines(folder / "meta.txt") if "meta" in features else [],
            "features": features, "input_length": architecture.get("input_length"),
            "record": record}


def read_card(folder: str | os.PathLike) -> dict[str, Any] | None:
    """The card of a model folder (card.json), or None when it has none."""
    path = Path(folder) / CARD_JSON
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError as error:
        raise InputError(f"{path}: not valid JSON ({error})") from None


def describe(name: str, folder: Path) -> dict[str, Any]:
    """One row of ``ffn-models``: name, family, TFs, variant, tracks, input length, source and
    folder, from the card (or, for a folder without one, from its record and txt files)."""
    card = read_card(folder)
    if card is not None:
        return {"name": name, "family": card["family"], "tfs": card["tfs"],
                "variant": card["variant"], "tracks": [t["name"] for t in card["tracks"]],
                "input_length": card["input_length"], "source": card["source"],
                "path": str(folder)}
    facts = folder_facts(folder)
    return {"name": name, "family": facts["family"], "tfs": facts["tfs"], "variant": None,
            "tracks": facts["tracks"], "input_length": facts["input_length"],
            "source": "no card", "path": str(folder)}


def list_models() -> list[dict[str, Any]]:
    """:func:`describe` for every model folder of :func:`~.runs.models.model_roots`, by name (a
    folder that cannot be read: source ``unreadable``, the reason in ``error``, logged)."""
    rows = []
    for name, folder in sorted(find_models().items()):
        try:
            rows.append(describe(name, folder))
        except InputError as error:
            logger.warning("%s", error)
            rows.append({"name": name, "family": "-", "tfs": [], "variant": None, "tracks": [],
                         "input_length": None, "source": "unreadable", "path": str(folder),
                         "error": str(error)})
    return rows


# ---------------------------------------------------------------------------------------------
# checks


def factornet_check(folder: Path, tf: str, work: Path) -> dict[str, Any]:
    """Predict the check bins with the FactorNet model folder (as ffn-predict does) in ``work``
    (a new folder); the card's ``check``."""
    from .factornet.prediction import predict_regions

    facts = folder_facts(folder)
    inputs = write_factornet_check_inputs(work / "check", facts["tracks"], facts["meta"],
                                          "gencode" in facts["features"])
    predict_regions(folder, inputs.cell_dir, tf, inputs.bins, work / "scores.tab.gz",
                    str(inputs.genome), blacklist=str(inputs.blacklist),
                    annotations_dir=inputs.annotations_dir)
    shown = write_factornet_check_inputs.__name__
    placeholder = FactorNetCheckInputs(
        Path("CHECK/cell"), Path("CHECK/genome.fa"), Path("CHECK/blacklist.bed"),
        Path("CHECK/bins.bed"), Path("CHECK/annotations") if inputs.annotations_dir else None)
    return {"inputs": f"CHECK = fiddle_factornet.shipped.{shown}(CHECK, tracks "
                      f"{facts['tracks']}, meta {facts['meta']}, annotations "
                      f"{inputs.annotations_dir is not None}, seed {CHECK_SEED})",
            "command": " ".join(["ffn-predict", *factornet_check_command(
                placeholder, "NAME", tf, "scores.tab.gz")]),
            "tf": tf, "seed": CHECK_SEED, "bins": [list(row) for row in CHECK_BINS],
            "values": read_submission_scores(work / "scores.tab.gz"), "rtol": CHECK_RTOL,
            "atol": CHECK_ATOL}


def fiddle_check(folder: Path, work: Path) -> dict[str, Any]:
    """Predict the check genes with the FIDDLE model folder (as ffn-fiddle-predict does) in
    ``work`` (a new folder); the card's ``check``."""
    from .fiddle.prediction import predict_fiddle

    inputs_kinds = fiddle_inputs_of(folder)
    inputs = write_fiddle_check_inputs(work / "check", inputs_kinds)
    predict_fiddle(folder, work / "predicted", genes=str(inputs.genes),
                   manifest=str(inputs.manifest))
    placeholder = FiddleCheckInputs(Path("CHECK/tracks.tsv"), Path("CHECK/genes.bed"))
    return {"inputs": f"CHECK = fiddle_factornet.shipped.{write_fiddle_check_inputs.__name__}"
                      f"(CHECK, {inputs_kinds}, seed {CHECK_SEED})",
            "command": " ".join(["ffn-fiddle-predict",
                                 *fiddle_check_command(placeholder, "NAME", "predicted")]),
            "values_read": f"{read_fiddle_check_values.__name__}(predicted/profiles.h5)",
            "seed": CHECK_SEED, "values": read_fiddle_check_values(
                work / "predicted" / "profiles.h5"), "rtol": CHECK_RTOL, "atol": CHECK_ATOL}


def model_check(folder: Path, card: dict[str, Any]) -> dict[str, Any]:
    """The check of a model folder of ``card``'s family, computed in a temporary folder."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ffn-check-") as work:
        if card["family"] == "fiddle":
            return fiddle_check(folder, Path(work))
        return factornet_check(folder, card["tf"], Path(work))


# ---------------------------------------------------------------------------------------------
# cards


def _readme_example(tf: str, variant: str, architecture: dict[str, Any]) -> dict[str, Any] | None:
    example = README_EXAMPLES.get((None if variant == "multiTask" else tf, variant))
    if example is None:
        return None
    theirs = {"L": example.length, "w": example.width, "k": example.kernels,
              "r": example.recurrent, "d": example.dense}
    ours = {"L": architecture["input_length"], "w": architecture["kernel_width"],
            "k": architecture["kernels"], "r": architecture["recurrent"],
            "d": architecture["dense"]}
    differ = [key for key in theirs if theirs[key] != ours[key]]
    verdict = (f"its -L/-w/-k/-r/-d differ from this model's ({', '.join(differ)}: "
               f"{', '.join(f'{theirs[k]} vs {ours[k]}' for k in differ)}), so it is not the "
               "command that made this model") if differ else \
        "its -L/-w/-k/-r/-d are this model's; the original does not say it made this model"
    return {"command": example.command, "cell_types": list(example.cell_types),
            "verdict": verdict}


def original_card(name: str, tf: str, folder_name: str, facts: dict[str, Any],
                  md5s: dict[str, str], made: dict[str, Any]) -> dict[str, Any]:
    """The card of a converted original model (``check`` still to add)."""
    from .factornet.annotations import ANNOTATION_FILES

    variant = variant_of(folder_name)
    architecture = facts["record"]["architecture"]
    example = _readme_example(tf, variant, architecture)
    trained_on = {
        "documented": None,
        "statement": "The original does not document which reference cell types this model was "
                     "trained on: its model folder and models/README.md do not record them.",
        "challenge_training_cell_types": list(CHALLENGE_TRAINING.get(tf, ())),
        "challenge_training_note": f"the cell types whose {tf} ChIP-seq peaks the original's "
                                   "data/ folder holds",
        "readme_example": example}
    cells = FINAL_ROUND.get(tf)
    tf_used = tf if tf in facts["tfs"] else facts["tfs"][0]
    usage_cell = f"data/{cells[0]}" if cells else "data/CELLTYPE"
    usage = (f"ffn-predict -i {usage_cell} -m {name} -f {tf_used} "
             "-b ladder_regions.blacklistfiltered.bed.gz --genome hg19.fa --blacklist "
             "resources/blacklist.bed.gz" + (" -g resources" if "gencode" in facts["features"]
                                             else "") + f" -o F.{tf_used}.predicted.tab.gz")
    return {
        "card_format": CARD_FORMAT, "name": name, "family": "factornet", "source": "original",
        "tf": tf_used, "tfs": facts["tfs"], "variant": variant,
        "variant_meaning": VARIANTS[variant], "folder_name": folder_name,
        "tracks": [{"name": track, "how": TRACK_HOWTO.get(track, "not documented by the "
                                                                 "original")}
                   for track in facts["tracks"]],
        "meta": {"names": facts["meta"], "how": META_HOWTO} if facts["meta"] else None,
        "annotations": {"names": [n for n, _ in ANNOTATION_FILES],
                        "files": [f for _, f in ANNOTATION_FILES], "how": ANNOTATIONS_HOWTO}
        if "gencode" in facts["features"] else None,
        "input_length": architecture["input_length"], "architecture": architecture,
        "trained_on": trained_on,
        "test_cell_type": {"cell_types": list(cells) if cells else None,
                           "source": "the ENCODE-DREAM challenge's final round of 13 TF/cell-type "
                                     "pairs" if cells else
                           f"{tf} was not among the final round's TFs"},
        "paper_scores": {"value": NOT_AVAILABLE, "note": PAPER_SCORES_NOTE},
        "original": {"url": f"{ORIGINAL_REPOSITORY}/tree/master/models/{tf}/{folder_name}",
                     "framework": "Keras 1.1.1 (Theano backend)", "files_md5": md5s,
                     "licence": "MIT; the original's LICENSE is models/factornet/LICENSE"},
        "made": made, "usage": usage}


def write_card(folder: str | os.PathLike, card: dict[str, Any]) -> None:
    """Write ``card.json`` and ``MODEL.md`` into the model folder."""
    folder = Path(folder)
    missing = [field for field in CARD_FIELDS if field not in card]
    if missing:
        raise InputError(f"{folder}: the model card lacks {', '.join(missing)}")
    (folder / CARD_JSON).write_text(json.dumps(card, indent=1) + "\n")
    (folder / CARD_MD).write_text(card_markdown(card))


def _listing(values: Sequence[str] | None) -> str:
    return ", ".join(values) if values else "none"


def card_markdown(card: dict[str, Any]) -> str:
    """``MODEL.md``: the card's facts for people."""
    lines = [f"# {card['name']}", ""]
    if card["family"] == "factornet":
        lines.append(f"FactorNet model of **{_listing(card['tfs'])}**, variant "
                     f"**{card['variant']}**: {card['variant_meaning']}.")
    else:
        lines.append(f"FIDDLE model predicting **{card.get('target')}** from "
                     f"{_listing([t['name'] for t in card['tracks']])}: {card['variant_meaning']}.")
    lines += ["", "| | |", "| --- | --- |",
              f"| name (`-m NAME`) | `{card['name']}` |",
              f"| family | {card['family']} |",
              f"| source | {card['source']} |",
              f"| input length | {card['input_length']} bp |",
              f"| test cell type | {_listing((card['test_cell_type'] or {}).get('cell_types'))} "
              f"({(card['test_cell_type'] or {}).get('source', '')}) |",
              f"| paper's scores | {card['paper_scores']['value']} |", "",
              "## Inputs", ""]
    lines += [f"- track `{t['name']}`: {t['how']}" for t in card["tracks"]]
    if card["meta"]:
        lines.append(f"- meta features {_listing(card['meta']['names'])}: {card['meta']['how']}")
    if card["annotations"]:
        lines.append(f"- annotations {_listing(card['annotations']['names'])} "
                     f"({_listing(card['annotations']['files'])}): {card['annotations']['how']}")
    trained = card["trained_on"]
    lines += ["", "## Trained on", "", trained["statement"]]
    if trained.get("challenge_training_cell_types"):
        lines += ["", f"The challenge's training cell types for {card['tf']}, "
                      f"{trained['challenge_training_note']}: "
                      f"{_listing(trained['challenge_training_cell_types'])}."]
    if trained.get("readme_example"):
        example = trained["readme_example"]
        lines += ["", f"The original README's example command for this TF and variant, on "
                      f"{_listing(example['cell_types'])}: `{example['command']}`; "
                      f"{example['verdict']}."]
    lines += ["", "## Scores", ""]
    lines += [f"- {what}: " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                        for k, v in values.items())
              for what, values in card.get("scores", {}).items()]
    lines += [f"- the paper's: {card['paper_scores']['value']}. "
              f"{card['paper_scores'].get('note', '')}".rstrip(), "", "## How it was made", ""]
    made = card["made"]
    lines += [f"- {key}: {value if isinstance(value, str) else json.dumps(value)}"
              for key, value in made.items()]
    if "original" in card:
        original = card["original"]
        lines += ["", "## The original", "", f"{original['url']} ({original['framework']}); "
                  f"licence: {original['licence']}.", "", "| file | md5 |", "| --- | --- |"]
        lines += [f"| {file} | `{md5}` |" for file, md5 in original["files_md5"].items()]
    check = card["check"]
    lines += ["", "## Check", "",
              f"Predictions on a seeded synthetic input, recorded when the model was made and "
              f"compared again by tests/test_shipped_models.py (rtol {check['rtol']:g}, atol "
              f"{check['atol']:g}):", "",
              f"- inputs: `{check['inputs']}`", f"- command: `{check['command']}`"]
    if "bins" in check:
        lines += ["", "| bin | score |", "| --- | --- |"]
        lines += [f"| {chrom}:{start}-{end} | {value:.9g} |"
                  for (chrom, start, end), value in zip(check["bins"], check["values"])]
    else:
        lines += [f"- values ({check['values_read']}): "
                  + ", ".join(f"{value:.9g}" for value in check["values"])]
    lines += ["", "## Use", "", f"    {card['usage']}", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# shipping


def ship_original(src_dir: str | os.PathLike, models_dir: str | os.PathLike,
                  overwrite: bool = False, fetched: bool = False) -> Path:
    """Convert the original model folder ``src_dir`` (``.../<TF>/<variant>``) into
    ``models_dir/factornet/<TF>/<variant>`` with its card; returns the folder. ``fetched``: a
    model fetched by :func:`fetch_originals`, not one we ship: its folder gets a ``.gitignore``."""
    from .factornet.convert import WEIGHT_FILES, convert_original
    from .runs.outputs import safe_output

    src = Path(src_dir)
    tf, folder_name = src.parent.name, src.name
    variant_of(folder_name)
    out = Path(models_dir) / "factornet" / tf / folder_name
    md5s = {file: file_md5(src / file) for file in ORIGINAL_FILES if (src / file).is_file()}
    command = "ffn-models --fetch_originals" if fetched else \
        f"fiddle_factornet.shipped.ship_original({str(src)!r}, {str(models_dir)!r})"
    with safe_output(out, overwrite, inputs=[src]) as tmp:
        convert_original(src, tmp)
        facts = folder_facts(tmp)
        made = {"how": "converted from the original's best_model.hdf5 by "
                       "fiddle_factornet.factornet.convert (ffn-convert; Theano's kernel flip, "
                       "Keras 1's LSTM gates and hard sigmoid); final_model.hdf5 not shipped",
                "weights": WEIGHT_FILES["best"], "package_version": __version__,
                "date": facts["record"]["started"], "command": command}
        card = original_card(f"{tf}/{folder_name}", tf, folder_name, facts, md5s, made)
        card["check"] = model_check(tmp, card)
        write_card(tmp, card)
        if fetched:
            (tmp / ".gitignore").write_text(FETCHED_GITIGNORE)
    logger.info("converted %s into %s", src, out)
    return out


#: what a trained model folder holds that is not shipped: the same weights again (best), the last
#: epoch's (final) and the TensorBoard logs
NOT_SHIPPED = ("best.weights.h5", "final.weights.h5", "logs")


def slim_trained_folder(folder: str | os.PathLike) -> list[str]:
    """Make a trained model folder shippable: ``model.keras`` saved again without the
    optimizer's state (same weights, a third of the size), :data:`NOT_SHIPPED` removed. Returns
    what was removed or rewritten."""
    import importlib
    import shutil

    import keras

    from .runs.models import FAMILIES

    folder = Path(folder)
    importlib.import_module(FAMILIES[folder_facts(folder)["family"]][1])
    model = keras.models.load_model(folder / "model.keras", compile=False)
    tmp = folder / ".model.slim.keras"
    model.save(tmp)
    os.replace(tmp, folder / "model.keras")
    removed = []
    for name in NOT_SHIPPED:
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            continue
        removed.append(name)
    return ["model.keras (saved without the optimizer state)", *removed]


def ship_trained(folder: str | os.PathLike, name: str, made: dict[str, Any],
                 trained_on: dict[str, Any], test_cell_type: dict[str, Any] | None,
                 track_howto: dict[str, str], variant: str, variant_meaning: str,
                 usage: str, scores: dict[str, dict[str, float]] | None = None
                 ) -> dict[str, Any]:
    """Write the card (with its check) of a model trained by this package; returns the card.
    ``scores``: what was measured on held-out data, by what was scored (name -> value)."""
    folder = Path(folder)
    facts = folder_facts(folder)
    card = {"card_format": CARD_FORMAT, "name": name, "family": facts["family"],
            "source": "trained here", "tf": facts["tfs"][0] if facts["tfs"] else None,
            "tfs": facts["tfs"], "target": facts["target"], "variant": variant,
            "variant_meaning": variant_meaning,
            "tracks": [{"name": track, "how": track_howto[track]} for track in facts["tracks"]],
            "meta": {"names": facts["meta"], "how": track_howto["meta"]} if facts["meta"]
            else None,
            "annotations": None, "input_length": facts["input_length"],
            "architecture": facts["record"]["architecture"], "trained_on": trained_on,
            "test_cell_type": test_cell_type,
            "paper_scores": {"value": NOT_AVAILABLE, "note": "a model of the demo data: the "
                                                             "papers have no figure for it"},
            "made": {**made, "package_version": __version__,
                     "date": facts["record"]["started"]}, "usage": usage,
            "scores": scores or {}}
    card["check"] = model_check(folder, card)
    write_card(folder, card)
    return card


def write_license(models_dir: str | os.PathLike, original_license: str | os.PathLike) -> Path:
    """``models_dir/factornet/LICENSE``: :data:`LICENSE_NOTICE`, then the original's licence."""
    path = Path(models_dir) / "factornet" / "LICENSE"
    path.parent.mkdir(parents=True, exist_ok=True)
    notice = textwrap.fill(LICENSE_NOTICE, 100, break_on_hyphens=False)
    path.write_text(f"{notice}\n\n{Path(original_license).read_text()}")
    return path


# ---------------------------------------------------------------------------------------------
# fetching the other published models

#: the manifest group of the original's published models
MODELS_GROUP = "factornet-models"
#: a fetched model folder is kept out of git (delete this file to commit the model)
FETCHED_GITIGNORE = "# fetched and converted by ffn-models --fetch_originals\n*\n"


@dataclass
class OriginalsSummary:
    """What :func:`fetch_originals` did: the download summary, and the models by outcome."""

    fetch: Any  # data.fetch.FetchSummary
    converted: list[str]
    skipped: list[str]
    failed: list[str]  # "<name>: <reason>"

    def text(self) -> str:
        lines = [self.fetch.text().rstrip("\n"),
                 f"models: converted {len(self.converted)}, already there {len(self.skipped)}, "
                 f"failed {len(self.failed)}"]
        lines += [f"converted: {name}" for name in self.converted]
        lines += [f"failed: {line}" for line in self.failed]
        return "\n".join(lines) + "\n"


def _model_of(destination: str) -> str | None:
    """``TF/variant`` of a model file's destination ``originals/factornet/TF/variant/file``."""
    parts = Path(destination).parts
    return f"{parts[-3]}/{parts[-2]}" if len(parts) >= 5 else None


def fetch_originals(manifest: str | os.PathLike | None, root: str | os.PathLike,
                    models_dir: str | os.PathLike, progress: bool = True,
                    overwrite: bool = False) -> OriginalsSummary:
    """Fetch the original's published models (the manifest's ``factornet-models`` group) under
    ``root`` and convert each into ``models_dir/factornet/<TF>/<variant>`` with its card.

    Models already there, or among the models found by name (the shipped ones), are neither
    fetched nor converted; only the files conversion reads (:data:`ORIGINAL_FILES`) and the
    LICENSE are fetched, verified against the manifest's size and md5 where it has them
    (``overwrite``: files under ``root`` that do not match are fetched again). A converted
    model's folder gets a ``.gitignore`` (it is not one we ship).
    """
    from .data.fetch import default_manifest, fetch_entries, read_manifest, select_entries

    models_dir = Path(models_dir)
    entries = select_entries(read_manifest(manifest or default_manifest()), [MODELS_GROUP])
    known = find_models([models_dir, *model_roots()])
    wanted, skipped = [], set()
    for entry in entries:
        name = _model_of(entry.destination)
        if name is None:
            if Path(entry.destination).name == "LICENSE":
                wanted.append(entry)
        elif name in known:
            skipped.add(name)
        elif Path(entry.destination).name in ORIGINAL_FILES:
            wanted.append(entry)
    summary = fetch_entries(wanted, root, progress=progress, overwrite=overwrite)
    failed_files = {_model_of(result.entry.destination) for result in summary.failed}
    licence = next((result.path for result in summary.results
                    if result.path.name == "LICENSE" and result.status != "failed"), None)
    if not (models_dir / "factornet" / "LICENSE").is_file():
        if licence is None:
            logger.warning("the original's LICENSE was not fetched: keep its MIT notice beside "
                           "the converted models (%s)", models_dir / "factornet" / "LICENSE")
        else:
            write_license(models_dir, licence)
    folders = dict.fromkeys(result.path.parent for result in summary.results
                            if _model_of(result.entry.destination) is not None)
    converted, failed = [], []
    for folder in folders:
        name = f"{folder.parent.name}/{folder.name}"
        if name in failed_files:
            failed.append(f"{name}: a file failed to download (see above)")
            continue
        try:
            ship_original(folder, models_dir, fetched=True)
        except InputError as error:
            failed.append(f"{name}: {error}")
            continue
        converted.append(name)
    return OriginalsSummary(summary, converted, sorted(skipped), failed)
