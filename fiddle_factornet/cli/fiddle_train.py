"""Train FIDDLE on tracks named in a manifest:

    ffn-fiddle-train --manifest demo/fiddle/tracks.tsv --genes demo/fiddle/genes.bed \\
        --inputs dna,netseq,mnase,tfiib,rnaseq -o runs/fiddle_all
"""

from __future__ import annotations

from absl import flags

from . import run
from ..fiddle.regions import RegionConfig
from ..fiddle.training import FiddleTrainSettings, train_fiddle
from ..data.splits import DEFAULT_TEST, DEFAULT_VALID

FLAGS = flags.FLAGS
flags.DEFINE_string("manifest", None, "Track manifest (name, role, kind, files).")
flags.DEFINE_string("genes", None, "Genes: BED6 with strand, or GFF3.")
flags.DEFINE_list("inputs", [], "Input tracks to use (default: every input of the manifest).")
flags.DEFINE_string("target", None, "Target track (default: the manifest's).")
flags.DEFINE_list("controls", [], "Control inputs to add: target (the target profile itself) "
                  "and/or noise (white noise).")
flags.DEFINE_string("output", None, "Model folder to write.", short_name="o")
flags.DEFINE_boolean("overwrite", False, "Replace an existing model folder.", short_name="oc")
flags.DEFINE_enum("split", "shuffle", ["shuffle", "chromosome"], "Seeded random windows (the "
                  "paper's) or held-out chromosomes.")
flags.DEFINE_integer("n_valid", 1000, "Validation windows (shuffle split).")
flags.DEFINE_integer("n_test", 1000, "Test windows (shuffle split).")
flags.DEFINE_list("validchroms", list(DEFAULT_VALID), "Validation chromosomes (chromosome split).")
flags.DEFINE_list("testchroms", list(DEFAULT_TEST), "Test chromosomes (chromosome split).")
flags.DEFINE_integer("epochs", 50, "Epochs.", short_name="e")
flags.DEFINE_integer("patience", 5, "Epochs without a better validation KL before stopping.",
                     short_name="ep")
flags.DEFINE_integer("batchsize", 64, "Batch size.")
flags.DEFINE_float("learningrate", 1e-3, "Adam's learning rate.", short_name="lr")
flags.DEFINE_integer("seed", 0, "Random seed.", short_name="s")
flags.DEFINE_boolean("non_overlapping", False, "Only genes that overlap no other gene.")
flags.DEFINE_integer("window_first", -500, "First window start, relative to the gene start.")
flags.DEFINE_integer("window_last", -20, "Last window start, relative to the gene start.")
flags.DEFINE_integer("window_step", 20, "Step between window starts.")
flags.DEFINE_string("reload", None, "A trained FIDDLE model folder to take track modules from.")
flags.DEFINE_list("reload_modules", [], "Tracks whose modules to take (default: all shared).")
flags.DEFINE_boolean("freeze", False, "Keep reloaded modules fixed (default: fine-tune them).")
flags.DEFINE_list("module_filters", ["80", "40"], "Filters of a module's two convolutions.")
flags.DEFINE_integer("scaffold_filters", 20, "Filters of the scaffold's convolution.")
flags.DEFINE_integer("representation", 500, "Size of each module's representation.")
flags.DEFINE_float("dropout", 0.5, "Dropout rate.", short_name="p")
flags.mark_flags_as_required(["manifest", "genes", "output"])


def main(argv: list[str]) -> None:
    train_fiddle(FiddleTrainSettings(
        manifest=FLAGS.manifest, genes=FLAGS.genes, output_dir=FLAGS.output,
        inputs=tuple(FLAGS.inputs), target=FLAGS.target, controls=tuple(FLAGS.controls),
        overwrite=FLAGS.overwrite,
        split=FLAGS.split, n_valid=FLAGS.n_valid, n_test=FLAGS.n_test,
        valid_chroms=tuple(FLAGS.validchroms), test_chroms=tuple(FLAGS.testchroms),
        epochs=FLAGS.epochs, patience=FLAGS.patience, batch_size=FLAGS.batchsize,
        learning_rate=FLAGS.learningrate, seed=FLAGS.seed,
        regions=RegionConfig(first_offset=FLAGS.window_first, last_offset=FLAGS.window_last,
                             step=FLAGS.window_step, non_overlapping=FLAGS.non_overlapping),
        reload=FLAGS.reload, reload_modules=tuple(FLAGS.reload_modules), freeze=FLAGS.freeze,
        module_filters=tuple(int(f) for f in FLAGS.module_filters),
        scaffold_filters=FLAGS.scaffold_filters, representation=FLAGS.representation,
        dropout=FLAGS.dropout))


def entry_point() -> None:
    run(main)


if __name__ == "__main__":
    entry_point()
