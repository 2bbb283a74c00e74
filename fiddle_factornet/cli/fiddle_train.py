"""Train FIDDLE on the tracks named in a manifest and write its model folder.

The model predicts the target track's profile (TSS-seq) over 500-bp windows around gene starts
from the input tracks (DNA sequence and signal tracks), one convolutional module per input.
Defaults follow the original: genes that overlap no other gene, windows holding a missing value
(NaN) left out, N as 0.25 in each DNA row, batches of 20. With --hdf5 instead of --manifest and
--genes, it trains on the authors' published HDF5 datasets (train.h5, validation.h5, test.h5):
every row of the training file, the first --n_valid rows of the validation file; inputs and
target are their datasets (default target tssseq, inputs every other track).

--devices N trains on N GPUs at once (TensorFlow or JAX backend; without GPUs, N logical CPU
devices); --batchsize stays the global batch. With TF_CONFIG naming several workers, each
machine runs this command as one worker (TensorFlow backend); only the chief writes the model
folder.

example:
    ffn-fiddle-train --manifest demo/fiddle/tracks.tsv --genes demo/fiddle/genes.bed \\
        --inputs dna,netseq,mnase,tfiib,rnaseq -o runs/fiddle_all
    ffn-fiddle-train --hdf5 data/hdf5datasets/NSMSDSRSCSTSRI_500bp \\
        --inputs dnaseq,netseq,mnaseseq,chipseq,rnaseq -o runs/fiddle_published
"""

from __future__ import annotations

from absl import flags

from . import (UsageError, define_choice, define_devices, define_float, define_int,
               define_int_list, define_output, flag_label, output_of, run)
from ..data.splits import DEFAULT_TEST, DEFAULT_VALID

COMMAND = "ffn-fiddle-train"
FLAGS = flags.FlagValues()
flags.DEFINE_string("manifest", None, "Track manifest (name, role, kind, files).",
                    flag_values=FLAGS)
flags.DEFINE_string("genes", None, "Genes: BED6 with strand, or GFF3.", flag_values=FLAGS)
flags.DEFINE_list("hdf5", [], "The authors' HDF5 datasets to train on instead of a manifest and "
                  "genes: their folder (train.h5, validation.h5, test.h5, as FIDDLE's main.py "
                  "reads them) or the files TRAIN.h5,VALIDATION.h5[,TEST.h5].", flag_values=FLAGS)
flags.DEFINE_list("inputs", [], "Input tracks to use (default: every input of the manifest; of "
                  "HDF5 datasets, every track but the target).", flag_values=FLAGS)
flags.DEFINE_string("target", None, "Target track (default: the manifest's; of HDF5 datasets, "
                    "tssseq).", flag_values=FLAGS)
flags.DEFINE_list("controls", [], "Control inputs to add: target (the target profile itself) "
                  "and/or noise (white noise).", flag_values=FLAGS)
define_output(FLAGS, "Model folder to write.")
flags.DEFINE_boolean("resume", False, "Continue an interrupted run from its partial folder "
                     "<output>.partial.", flag_values=FLAGS)
define_choice("split", "shuffle", ["shuffle", "chromosome"], "Seeded random windows (the paper's) "
              "or held-out chromosomes.", FLAGS)
define_int("n_valid", 1000, "Validation windows (shuffle split; from HDF5 datasets: the first N "
           "rows of the validation file, as the original).", FLAGS, minimum=1)
define_int("n_test", 1000, "Test windows (shuffle split).", FLAGS, minimum=1)
flags.DEFINE_list("validchroms", list(DEFAULT_VALID), "Validation chromosomes (chromosome "
                  "split).", short_name="v", flag_values=FLAGS)
flags.DEFINE_list("testchroms", list(DEFAULT_TEST), "Test chromosomes (chromosome split).",
                  short_name="t", flag_values=FLAGS)
define_int("epochs", 50, "Epochs.", FLAGS, short_name="e", minimum=1)
define_int("patience", 5, "Epochs without a better validation KL before stopping.", FLAGS,
           short_name="ep", minimum=0)
define_int("batchsize", 20, "Batch size (the released code's 20; over every device: the global "
           "batch).", FLAGS, minimum=1)
define_devices(FLAGS)
define_float("learningrate", 1e-3, "Adam's learning rate.", FLAGS, short_name="lr", above=0)
define_int("seed", 0, "Random seed.", FLAGS, short_name="s", minimum=0)
flags.DEFINE_boolean("overlapping_genes", False, "Also use genes that overlap another gene "
                     "(default: only genes that overlap no other gene, as the paper did).",
                     flag_values=FLAGS)
define_choice("missing", "skip", ["skip", "zero"], "Windows holding a missing value (a NaN "
              "stored in an input track's or the target's bigWig): skip them (the original) or "
              "read NaN as 0.", FLAGS)
define_float("dna_n", 0.25, "Value of an N in each of the 4 DNA rows (the original's 0.25; 0 "
             "gives N as zeros).", FLAGS, minimum=0)
define_int("curve_every", 2000, "Learning curve: held-out KL every this many training samples "
           "(0: once per epoch).", FLAGS, minimum=0)
define_int("window_first", -500, "First window start, relative to the gene start (bp).", FLAGS)
define_int("window_last", -20, "Last window start, relative to the gene start (bp).", FLAGS)
define_int("window_step", 20, "Step between window starts (bp).", FLAGS, minimum=1)
flags.DEFINE_string("reload", None, "A trained FIDDLE model folder to take track modules from.",
                    flag_values=FLAGS)
flags.DEFINE_list("reload_modules", [], "Tracks whose modules to take (default: every shared "
                  "one).", flag_values=FLAGS)
flags.DEFINE_boolean("freeze", False, "Keep reloaded modules fixed (default: fine-tune them).",
                     flag_values=FLAGS)
define_int_list("module_filters", "80,40", "Filters of a module's two convolutions.", FLAGS)
define_int("scaffold_filters", 20, "Filters of the scaffold's convolution.", FLAGS, minimum=1)
define_int("kernel_width", 5, "Width (bp) of every convolution's filters (the paper's H x 5).",
           FLAGS, minimum=1)
define_int("representation", 500, "Size of each module's representation.", FLAGS, minimum=1)
define_float("dropout", 0.5, "Dropout rate.", FLAGS, short_name="p", minimum=0, below=1)

#: flags that make windows from genes and tracks: the HDF5 datasets hold their windows
WINDOW_FLAGS = ("manifest", "genes", "split", "n_test", "validchroms", "testchroms",
                "overlapping_genes", "missing", "dna_n", "window_first", "window_last",
                "window_step")

#: library parameter -> flag, for the library's one-line errors
SETTING_FLAGS = {
    "manifest": "--manifest", "genes": "--genes", "hdf5": "--hdf5", "inputs": "--inputs",
    "target": "--target", "controls": "--controls", "output_dir": "-o", "overwrite": "-oc",
    "resume": "--resume",
    "split": "--split", "n_valid": "--n_valid", "n_test": "--n_test", "valid_chroms": "-v",
    "test_chroms": "-t", "epochs": "-e", "patience": "-ep", "batch_size": "--batchsize",
    "devices": "--devices",
    "learning_rate": "-lr", "seed": "-s", "non_overlapping": "--overlapping_genes",
    "missing": "--missing", "dna_n": "--dna_n", "curve_every": "--curve_every",
    "first_offset": "--window_first", "last_offset": "--window_last", "step": "--window_step",
    "reload": "--reload", "reload_modules": "--reload_modules", "freeze": "--freeze",
    "module_filters": "--module_filters", "scaffold_filters": "--scaffold_filters",
    "kernel_width": "--kernel_width", "representation": "--representation", "dropout": "-p",
    "regions": "--window_first, --window_last, --window_step, --overlapping_genes",
}


def check() -> None:
    if FLAGS.hdf5:
        given = [flag_label(FLAGS[name]) for name in WINDOW_FLAGS if FLAGS[name].present]
        if given:
            raise UsageError(f"{given[0]} does not apply to --hdf5 (its files hold the windows)")
    elif not FLAGS.manifest or not FLAGS.genes:
        raise UsageError("give --manifest and --genes, or --hdf5 (the authors' HDF5 datasets)")


def main() -> None:
    from ..fiddle.regions import RegionConfig
    from ..fiddle.training import FiddleTrainSettings, train_fiddle

    output, overwrite = output_of(FLAGS)
    train_fiddle(FiddleTrainSettings(
        manifest=FLAGS.manifest, genes=FLAGS.genes, output_dir=output, hdf5=tuple(FLAGS.hdf5),
        inputs=tuple(FLAGS.inputs), target=FLAGS.target, controls=tuple(FLAGS.controls),
        overwrite=overwrite, resume=FLAGS.resume,
        split=FLAGS.split, n_valid=FLAGS.n_valid, n_test=FLAGS.n_test,
        valid_chroms=tuple(FLAGS.validchroms), test_chroms=tuple(FLAGS.testchroms),
        epochs=FLAGS.epochs, patience=FLAGS.patience, batch_size=FLAGS.batchsize,
        learning_rate=FLAGS.learningrate, seed=FLAGS.seed, devices=FLAGS.devices,
        regions=RegionConfig(first_offset=FLAGS.window_first, last_offset=FLAGS.window_last,
                             step=FLAGS.window_step,
                             non_overlapping=not FLAGS.overlapping_genes),
        curve_every=FLAGS.curve_every, missing=FLAGS.missing, dna_n=FLAGS.dna_n,
        reload=FLAGS.reload, reload_modules=tuple(FLAGS.reload_modules), freeze=FLAGS.freeze,
        module_filters=FLAGS.module_filters, scaffold_filters=FLAGS.scaffold_filters,
        kernel_width=FLAGS.kernel_width, representation=FLAGS.representation,
        dropout=FLAGS.dropout))


def entry_point() -> None:
    run(COMMAND, __doc__, FLAGS, main, SETTING_FLAGS, check=check)


if __name__ == "__main__":
    entry_point()
