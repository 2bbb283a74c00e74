"""Train FactorNet (the original's flags):

    ffn-train -i data/HepG2,data/K562 -vi data/liver -f CTCF --genome hg19.fa \\
        --blacklist blacklist.bed.gz -o models/CTCF          # single-task, pooled cell types
    ffn-train -i data/HepG2 --genome hg19.fa -o models/HepG2  # multi-task: every TF of HepG2
"""

from __future__ import annotations

from absl import flags

from . import CACHE_CHOICES, free_short_flag_v, run
from ..factornet.model import FactorNetConfig
from ..factornet.training import TrainSettings, train
from ..data.splits import DEFAULT_TEST, DEFAULT_VALID

FLAGS = flags.FLAGS
free_short_flag_v()
flags.DEFINE_list("inputdirs", None, "Cell-type folders to train on.", short_name="i")
flags.DEFINE_list("validinputdirs", [], "Cell-type folders to validate on (default: the training "
                  "ones).", short_name="vi")
flags.DEFINE_list("validchroms", list(DEFAULT_VALID), "Validation chromosomes.", short_name="v")
flags.DEFINE_list("testchroms", list(DEFAULT_TEST), "Test chromosomes (never trained on).",
                  short_name="t")
flags.DEFINE_integer("epochs", 100, "Epochs.", short_name="e")
flags.DEFINE_integer("patience", 20, "Epochs without a better validation loss before stopping.",
                     short_name="ep")
flags.DEFINE_float("learningrate", 1e-3, "Adam's learning rate.", short_name="lr")
flags.DEFINE_integer("negatives", 1, "Negative bins per positive (single-task).", short_name="n")
flags.DEFINE_integer("seqlen", 1000, "Input length L (bp).", short_name="L")
flags.DEFINE_integer("motifwidth", 26, "Kernel width w.", short_name="w")
flags.DEFINE_integer("kernels", 32, "Number of kernels k.", short_name="k")
flags.DEFINE_integer("recurrent", 32, "LSTM units r; 0: no LSTM; < 0: global max pooling.",
                     short_name="r")
flags.DEFINE_integer("dense", 128, "Dense units d.", short_name="d")
flags.DEFINE_float("dropout", 0.5, "Dropout rate p.", short_name="p")
flags.DEFINE_float("recurrentdropout", 0.0, "Dropout on the LSTM's recurrent state. The "
                   "original used 0.1; it halves training speed here (bench/bench_factornet_model.py)"
                   " and keeps a GPU off its fused LSTM kernel.")
flags.DEFINE_integer("seed", 420, "Random seed.", short_name="s")
flags.DEFINE_string("factor", None, "TF to train for (single-task); none: multi-task.",
                    short_name="f")
flags.DEFINE_boolean("meta", False, "Use the cell types' meta features (meta.txt).", short_name="m")
flags.DEFINE_string("gencode", None, "Folder of the six annotation BEDs (FactorNet's resources) "
                    "to use as per-bin features.", short_name="g")
flags.DEFINE_string("motif", None, "MEME file: set the first kernels to the factor's PWM.",
                    short_name="mo")
flags.DEFINE_string("outputdir", None, "Model folder to write (must not exist).", short_name="o")
flags.DEFINE_string("outputdirc", None, "Model folder to write, replacing it if it exists.",
                    short_name="oc")
flags.DEFINE_string("genome", None, "Genome FASTA (plain or bgzipped).")
flags.DEFINE_string("blacklist", None, "Blacklist BED (e.g. FactorNet's blacklist.bed.gz).")
flags.DEFINE_integer("batchsize", 100, "Batch size.")
flags.DEFINE_enum("cache", "true", list(CACHE_CHOICES), "Memory-mapped genome and track "
                  "caches: build and use them, never, or use existing ones.")
flags.mark_flags_as_required(["inputdirs", "genome"])
flags.register_multi_flags_validator(
    ["outputdir", "outputdirc"], lambda f: (f["outputdir"] is None) != (f["outputdirc"] is None),
    message="give one of -o (new folder) or -oc (overwrite)")


def main(argv: list[str]) -> None:
    architecture = FactorNetConfig(
        input_length=FLAGS.seqlen, kernels=FLAGS.kernels, kernel_width=FLAGS.motifwidth,
        recurrent=FLAGS.recurrent, dense=FLAGS.dense, dropout=FLAGS.dropout,
        lstm_recurrent_dropout=FLAGS.recurrentdropout)
    cache = CACHE_CHOICES[FLAGS.cache]
    train(TrainSettings(
        input_dirs=tuple(FLAGS.inputdirs), genome=FLAGS.genome,
        output_dir=FLAGS.outputdir or FLAGS.outputdirc, overwrite=FLAGS.outputdirc is not None,
        valid_input_dirs=tuple(FLAGS.validinputdirs), valid_chroms=tuple(FLAGS.validchroms),
        test_chroms=tuple(FLAGS.testchroms), factor=FLAGS.factor, blacklist=FLAGS.blacklist,
        meta=FLAGS.meta, annotations_dir=FLAGS.gencode, motif_db=FLAGS.motif, epochs=FLAGS.epochs,
        patience=FLAGS.patience, learning_rate=FLAGS.learningrate, batch_size=FLAGS.batchsize,
        negatives=FLAGS.negatives, seed=FLAGS.seed, cache=cache, architecture=architecture))


def entry_point() -> None:
    run(main)


if __name__ == "__main__":
    entry_point()
