"""Train a FactorNet model (the original FactorNet's flags) and write its model folder.

With -f, a single-task model for that TF, trained on the cell-type folders pooled; without -f, a
multi-task model for every TF of the one cell-type folder given. Validation and test are held-out
chromosomes (-v, -t); -vi validates on other cell types.

--devices N trains on N GPUs at once (TensorFlow or JAX backend; without GPUs, N logical CPU
devices); --batchsize stays the global batch. With TF_CONFIG naming several workers, each
machine runs this command as one worker (TensorFlow backend); only the chief writes the model
folder.

example:
    ffn-train -i data/HepG2,data/K562 -vi data/liver -f CTCF --genome hg19.fa \\
        --blacklist blacklist.bed.gz -o models/CTCF          # single-task, pooled cell types
    ffn-train -i data/HepG2 --genome hg19.fa -o models/HepG2  # multi-task: every TF of HepG2
    ffn-train -i data/HepG2 --genome hg19.fa --devices all --batchsize 400 -o models/HepG2
"""

from __future__ import annotations

from absl import flags

from . import (CACHE_CHOICES, CACHE_HELP, UsageError, define_choice, define_devices, define_float,
               define_int, define_output, output_of, require, run)
from ..data.splits import DEFAULT_TEST, DEFAULT_VALID

COMMAND = "ffn-train"
FLAGS = flags.FlagValues()


flags.DEFINE_list("inputdirs", None, "Cell-type folders to train on (comma-separated).",
                  short_name="i", flag_values=FLAGS)
flags.DEFINE_list("validinputdirs", [], "Cell-type folders to validate on (default: the training "
                  "ones).", short_name="vi", flag_values=FLAGS)
flags.DEFINE_list("validchroms", list(DEFAULT_VALID), "Validation chromosomes.", short_name="v",
                  flag_values=FLAGS)
flags.DEFINE_list("testchroms", list(DEFAULT_TEST), "Test chromosomes (never trained on).",
                  short_name="t", flag_values=FLAGS)
define_int("epochs", 100, "Epochs.", FLAGS, short_name="e", minimum=1)
define_int("patience", 20, "Epochs without a better validation loss before stopping.", FLAGS,
           short_name="ep", minimum=0)
define_float("learningrate", 1e-3, "Adam's learning rate.", FLAGS, short_name="lr", above=0)
define_int("negatives", 1, "Negative bins per positive (single-task).", FLAGS, short_name="n",
           minimum=1)
define_int("seqlen", 1000, "Input length L (bp).", FLAGS, short_name="L", minimum=1)
define_int("motifwidth", 26, "Kernel width w.", FLAGS, short_name="w", minimum=1)
define_int("kernels", 32, "Number of kernels k.", FLAGS, short_name="k", minimum=1)
define_int("recurrent", 32, "LSTM units r; 0: no LSTM; < 0: global max pooling.", FLAGS,
           short_name="r")
define_int("dense", 128, "Dense units d.", FLAGS, short_name="d", minimum=1)
define_float("dropout", 0.5, "Dropout rate p.", FLAGS, short_name="p", minimum=0, below=1)
define_float("recurrentdropout", 0.1, "Dropout on the LSTM's recurrent state (the original's 0.1).",
             FLAGS, minimum=0, below=1)
flags.DEFINE_boolean("fast_lstm", False, "A faster LSTM: gates through the sigmoid, no recurrent "
                     "dropout (a GPU's fused kernel; 1.4x on a 2-core CPU, bench/"
                     "bench_factornet_model.py). The original: Keras 1's hard sigmoid, recurrent "
                     "dropout 0.1.", flag_values=FLAGS)
define_int("seed", 420, "Random seed.", FLAGS, short_name="s", minimum=0)
flags.DEFINE_string("factor", None, "TF to train for (single-task); none: multi-task.",
                    short_name="f", flag_values=FLAGS)
flags.DEFINE_boolean("meta", False, "Use the cell types' meta features (meta.txt).",
                     short_name="m", flag_values=FLAGS)
flags.DEFINE_string("gencode", None, "Folder of the six annotation BEDs (FactorNet's resources) "
                    "to use as per-bin features.", short_name="g", flag_values=FLAGS)
flags.DEFINE_boolean("annotate_peaks", False, "Annotation features of positives over their whole "
                     "peak, as the original (default: over the 200 bp bin, as for negatives and "
                     "at prediction; over the peak they leak the label).", flag_values=FLAGS)
flags.DEFINE_boolean("original", False, "Restore every departure from the original at once "
                     "(--annotate_peaks; README: Departures from the originals).",
                     flag_values=FLAGS)
flags.DEFINE_string("motif", None, "MEME file: set the first kernels to the factor's PWM.",
                    short_name="mo", flag_values=FLAGS)
define_output(FLAGS, "Model folder to write.", name="outputdir", replace_name="outputdirc")
flags.DEFINE_boolean("resume", False, "Continue an interrupted run from its partial folder "
                     "<output>.partial.", flag_values=FLAGS)
flags.DEFINE_string("genome", None, "Genome FASTA (plain or bgzipped).", flag_values=FLAGS)
flags.DEFINE_string("blacklist", None, "Blacklist BED (FactorNet's blacklist.bed.gz), widened by "
                    "L; 'none': deliberately none (without this flag: none, with a warning).",
                    flag_values=FLAGS)
define_int("batchsize", 100, "Batch size (over every device: the global batch).", FLAGS,
           minimum=1)
define_devices(FLAGS)
define_choice("cache", "true", CACHE_CHOICES, CACHE_HELP, FLAGS)
require(FLAGS, "inputdirs", "genome")

#: library parameter -> flag, for the library's one-line errors
SETTING_FLAGS = {
    "input_dirs": "-i", "valid_input_dirs": "-vi", "valid_chroms": "-v", "test_chroms": "-t",
    "epochs": "-e", "patience": "-ep", "learning_rate": "-lr", "negatives": "-n",
    "input_length": "-L", "kernel_width": "-w", "kernels": "-k", "recurrent": "-r", "dense": "-d",
    "dropout": "-p", "lstm_recurrent_dropout": "--recurrentdropout", "seed": "-s", "factor": "-f",
    "meta": "-m", "annotations_dir": "-g", "motif_db": "-mo", "output_dir": "-o",
    "overwrite": "-oc", "resume": "--resume", "genome": "--genome", "blacklist": "--blacklist",
    "batch_size": "--batchsize", "cache": "--cache", "devices": "--devices",
    "architecture": "-L, -w, -k, -r, -d, -p, --recurrentdropout",
}


def check() -> None:
    if FLAGS.fast_lstm and (FLAGS.original or FLAGS["recurrentdropout"].present):
        raise UsageError("--fast_lstm sets the LSTM's gates and recurrent dropout: give it without "
                         "--original and --recurrentdropout")


def main() -> None:
    from ..factornet.model import FactorNetConfig
    from ..factornet.training import TrainSettings, train

    output, overwrite = output_of(FLAGS)
    architecture = FactorNetConfig(
        input_length=FLAGS.seqlen, kernels=FLAGS.kernels, kernel_width=FLAGS.motifwidth,
        recurrent=FLAGS.recurrent, dense=FLAGS.dense, dropout=FLAGS.dropout,
        lstm_recurrent_dropout=FLAGS.recurrentdropout)
    if FLAGS.fast_lstm:
        architecture = architecture.fast_lstm()
    train(TrainSettings(
        input_dirs=tuple(FLAGS.inputdirs), genome=FLAGS.genome, output_dir=output,
        overwrite=overwrite, resume=FLAGS.resume,
        valid_input_dirs=tuple(FLAGS.validinputdirs), valid_chroms=tuple(FLAGS.validchroms),
        test_chroms=tuple(FLAGS.testchroms), factor=FLAGS.factor, blacklist=FLAGS.blacklist,
        meta=FLAGS.meta, annotations_dir=FLAGS.gencode,
        annotate_peaks=FLAGS.annotate_peaks or FLAGS.original, motif_db=FLAGS.motif,
        epochs=FLAGS.epochs,
        patience=FLAGS.patience, learning_rate=FLAGS.learningrate, batch_size=FLAGS.batchsize,
        negatives=FLAGS.negatives, seed=FLAGS.seed, cache=CACHE_CHOICES[FLAGS.cache],
        devices=FLAGS.devices, architecture=architecture))


def entry_point() -> None:
    run(COMMAND, __doc__, FLAGS, main, SETTING_FLAGS, check=check)


if __name__ == "__main__":
    entry_point()
