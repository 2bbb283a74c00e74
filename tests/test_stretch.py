"""The shared-convolution (stretch) fast path equals the per-window path, for every model variant:
recurrent > 0, = 0 and < 0, meta and annotation inputs, several tasks, the fast LSTM and the
converted original models; on the demo's test regions with isolated bins and the chromosome ends
(windows running off a chromosome), pieces and packs of every kind."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import json
import logging
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from fiddle_factornet.data.intervals import read_bed
from fiddle_factornet.data.samples import Samples
from fiddle_factornet.factornet import stretch
from fiddle_factornet.factornet.annotations import ANNOTATION_FILES
from fiddle_factornet.factornet.celltype import CellTypeFolder
from fiddle_factornet.factornet.folder import FactorNetModel
from fiddle_factornet.factornet.model import FactorNetConfig, build_factornet
from fiddle_factornet.factornet.prediction import ModelData, predict_regions, predict_samples
from fiddle_factornet.factornet.stretch import SharedConvolution, find_runs, sliding_max
from fiddle_factornet.data.writers import write_bed

REFERENCE_ENV = "FIDDLE_FACTORNET_REFERENCE"
REFERENCE = Path(os.environ[REFERENCE_ENV]) / "factornet" if os.environ.get(REFERENCE_ENV) else None
#: one converted original of each variant: plain, meta, GENCODE, meta + GENCODE
ORIGINALS = ["E2F1/onePeak_Unique35_DGF", "EGR1/meta_RNAseq_Unique35_DGF",
             "NANOG/GENCODE_Unique35_DGF", "GABPA/metaGENCODE_RNAseq_Unique35_DGF"]

SMALL = dict(input_length=300, kernels=6, kernel_width=12, dense=8, recurrent=4)
VARIANTS = {
    "lstm": FactorNetConfig(**SMALL),
    "no_lstm": FactorNetConfig(**{**SMALL, "recurrent": 0}),
    "global_pool": FactorNetConfig(**{**SMALL, "recurrent": -1}),
    "odd_pool": FactorNetConfig(**SMALL, pool=7),
    "meta": FactorNetConfig(**SMALL, n_meta=8),
    "gencode": FactorNetConfig(**SMALL, n_annotations=6),
    "meta_gencode_multitask": FactorNetConfig(**SMALL, n_meta=8, n_annotations=6, n_tasks=3),
    "fast_lstm": FactorNetConfig(**SMALL).fast_lstm(),
}
TOLERANCE = 1e-5


def spread_weights(model, seed=0):
    """Random weights large enough that the outputs vary from bin to bin (an untrained model's
    sit near 0.5), so that a window gathered from the wrong positions shows."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 1.5 / np.sqrt(np.prod(w.shape[:-1])) if w.ndim > 1 else 0.2,
                                  w.shape).astype(np.float32) for w in model.get_weights()])
    return model


@pytest.fixture(scope="module")
def annotations(tmp_path_factory):
    folder = tmp_path_factory.mktemp("annotations")
    for i, (_, file) in enumerate(ANNOTATION_FILES):
        write_bed(folder / file, [(chrom, 700 * k + 100 * i, 700 * k + 100 * i + 300)
                                  for chrom in ("chr1", "chr8", "chr21") for k in range(1, 50, 3)])
    return folder


def demo_samples(small_demo) -> Samples:
    """The first 200 test regions of chr1 and chr21 (runs broken by the blacklist), isolated bins
    (every 7th bin of chr8), runs of 2 and 3, and bins at both ends of chr8, whose windows run off
    it: rows in that order."""
    regions = read_bed(small_demo / "factornet/regions/test_regions.blacklistfiltered.bed.gz")
    parts = [regions[regions["chrom"] == chrom].head(200) for chrom in ("chr1", "chr21")]
    chrom8 = 40_000
    starts = [np.arange(0, 400, 50), np.arange(10_000, 20_000, 350), [25_000, 25_050],
              [26_000, 26_050, 26_100], np.arange(chrom8 - 400, chrom8 - 199, 50)]
    names = ("chr1", "chr8", "chr21")
    chrom = np.concatenate([np.zeros(len(parts[0]), int), np.full(sum(map(len, starts)), 1),
                            np.full(len(parts[1]), 2)])
    start = np.concatenate([parts[0]["start"], *starts, parts[1]["start"]])
    return Samples.build(names, chrom, start, start + 200, 0, 0, np.zeros((len(start), 1)))


def both_paths(folder, cell, genome, samples, annotations_dir=None, batch_size=64):
    """The per-window outputs and the stretch path's for every row (all rows through it, and
    through :func:`predict_samples`' split): three (n, n_tasks) arrays."""
    data = ModelData.open(folder, cell, str(genome), annotations_dir, cache=False)
    samples = data.annotate(samples)
    shared = SharedConvolution.of(folder.model)
    alone, none_shared = predict_samples(folder.model, data.view, samples, batch_size)
    assert none_shared == 0
    split, on_stretch = predict_samples(folder.model, data.view, samples, batch_size, shared)
    assert 0 < on_stretch < len(samples)
    return alone, split, shared.predict(data.view, samples, batch_size)


def model_folder(cfg, path, meta=False, gencode=False):
    features = ("bigwig",) + ("meta",) * meta + ("gencode",) * gencode
    meta_names = tuple(f"GEPC{i}" for i in range(1, 9)) if meta else ()
    return FactorNetModel(Path(path), spread_weights(build_factornet(cfg)), cfg,
                          tuple(f"TF{i}" for i in range(cfg.n_tasks)), ("Unique35", "DGF"),
                          meta_names, features)


@pytest.mark.parametrize("name", VARIANTS)
def test_the_stretch_path_equals_the_per_window_path(name, small_demo, annotations, tmp_path,
                                                     monkeypatch):
    monkeypatch.setattr(stretch, "STRETCH_BASES", 3_000)  # pieces cut by bases too
    cfg = VARIANTS[name]
    folder = model_folder(cfg, tmp_path, meta=cfg.n_meta > 0, gencode=cfg.n_annotations > 0)
    cell = CellTypeFolder.read(small_demo / "factornet/demoC")
    samples = demo_samples(small_demo)
    alone, split, shared = both_paths(folder, cell, small_demo / "genome/demo.fa", samples,
                                      annotations if cfg.n_annotations else None)
    assert alone.shape == (len(samples), cfg.n_tasks)
    assert alone.std(axis=0).min() > 0.005  # outputs that vary: a misplaced window would show
    np.testing.assert_allclose(split, alone, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(shared, alone, rtol=0, atol=TOLERANCE)


@pytest.mark.skipif(REFERENCE is None, reason=f"{REFERENCE_ENV} is unset: it points at the "
                    "reference data (../shared/reference), which .ci/run sets")
@pytest.mark.parametrize("name", ORIGINALS)
def test_converted_originals_on_the_stretch_path(name, small_demo, annotations, tmp_path):
    from fiddle_factornet.factornet.convert import build_converted, read_original

    original = read_original(REFERENCE / "models" / name)
    folder = FactorNetModel(tmp_path, build_converted(original), original.config, original.tfs,
                            original.track_names, original.meta_names, original.features)
    cell = CellTypeFolder.read(small_demo / "factornet/demoC")
    assert cell.track_names == original.track_names  # the four all read Unique35 and DGF
    samples = demo_samples(small_demo).take(slice(170, 280))  # runs, isolated bins, chr8's ends
    alone, split, shared = both_paths(folder, cell, small_demo / "genome/demo.fa", samples,
                                      annotations if "gencode" in original.features else None)
    np.testing.assert_allclose(split, alone, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(shared, alone, rtol=0, atol=TOLERANCE)


def test_runs_are_lattices_of_one_chromosome_width_and_step():
    chrom = [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]
    start = [0, 50, 100, 200, 300, 400, 450, 0, 50, 100, 150, 150, 200]
    end = [200, 250, 300, 400, 500, 600, 650, 200, 250, 300, 350, 400, 400]
    samples = Samples.build(("a", "b"), chrom, start, end, 0, 0, np.zeros((13, 1)))
    # steps 50, 50 | 100, 100, 100 | 50 | new chromosome ... width 250 at row 11 | 50 (back)
    assert find_runs(samples, 1000).tolist() == [0, 3, 6, 7, 11, 12, 13]
    assert find_runs(samples, 100).tolist() == [0, 3, 4, 5, 7, 11, 12, 13]  # steps < L only
    shared = SharedConvolution(None, None, 1000, 26, 13, 13, 75)
    assert shared.covers(samples).tolist() == [False] * 7 + [True] * 4 + [False] * 2


def test_sliding_max_equals_the_window_maxima():
    x = np.random.default_rng(0).normal(size=(2, 500, 3)).astype(np.float32)
    for width in (1, 2, 3, 13, 64, 100, 475):
        expected = np.stack([x[:, i:i + width].max(axis=1) for i in range(500 - width + 1)], 1)
        np.testing.assert_array_equal(sliding_max(x, width), expected)


def test_pieces_and_packs_cover_every_row_once(monkeypatch):
    monkeypatch.setattr(stretch, "STRETCH_BASES", 2_000)
    start = np.concatenate([np.arange(0, 5000, 50), [9000], np.arange(20_000, 30_000, 200)])
    samples = Samples.build(("a",), 0, start, start + 200, 0, 0, np.zeros((len(start), 1)))
    shared = SharedConvolution(None, None, 1000, 26, 13, 13, 75)
    first, end = shared._pieces(samples, 16)
    assert (first[1:] == end[:-1]).all() and first[0] == 0 and end[-1] == len(start)
    windows = samples.windows(1000).start
    assert ((end - first) <= 16).all()
    assert ((windows[end - 1] - windows[first] + 1000 <= 2_000) | (end - first == 1)).all()
    packs = shared._packs(samples, first, end, 16)
    assert packs[0] == 0 and packs[-1] == len(first) and (np.diff(packs) > 0).all()
    for lo, hi in zip(packs[:-1], packs[1:]):
        assert end[hi - 1] - first[lo] < 2 * 16


def test_mixed_widths_fall_back_and_say_so_once(small_demo, tmp_path, caplog):
    cfg = FactorNetConfig(**SMALL)
    folder = tmp_path / "model"
    folder.mkdir()
    build_factornet(cfg).save(folder / "model.keras")
    (folder / "run.json").write_text(json.dumps({"family": "factornet",
                                                 "architecture": asdict(cfg)}))
    for name, text in (("chip.txt", "CTCF\n"), ("bigwig.txt", "Unique35\nDGF\n"),
                       ("feature.txt", "bigwig\n")):
        (folder / name).write_text(text)
    bed = tmp_path / "mixed.bed"
    rows = [("chr2", s, s + 200) for s in range(5000, 7000, 50)] + \
        [("chr2", s, s + 300) for s in range(9000, 11000, 50)]
    write_bed(bed, rows)
    with caplog.at_level(logging.INFO):
        predict_regions(folder, small_demo / "factornet/demoC", "CTCF", bed, tmp_path / "p.gz",
                        str(small_demo / "genome/demo.fa"), blacklist="none")
    said = [r.getMessage() for r in caplog.records if "different widths" in r.getMessage()]
    assert said == [f"{bed}: bins of different widths (200 and 300 bp): only runs of consecutive "
                    "bins of one width share the convolution, the others are scored per window"]
