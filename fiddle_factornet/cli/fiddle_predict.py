"""Predict TSS-seq profiles with a FIDDLE model folder where the target was never measured: for
genes (the windows training made around each gene start) or stranded regions (tiled with windows
of the model's width every --window_step bp, plus one flush with each region's 3' end), reading
only the model's input tracks. Writes the folder -o: profiles.h5 (per window: coordinates,
strand, name, the predicted profile in the window's orientation), predicted.plus.bw and
predicted.minus.bw (the profiles on the genome, overlapping windows of a strand averaged),
representations.h5 with --representations, and, when the manifest has the target track,
metrics.json (KL divergence and bin accuracy), whose table it prints.

example:
    ffn-fiddle-predict -m runs/fiddle_all --genes demo/fiddle/genes.bed -o runs/fiddle_all.predicted
    ffn-fiddle-predict -m runs/fiddle_all --regions promoters.bed --manifest inputs_only.tsv \\
        --representations -o runs/promoters.predicted
"""

from __future__ import annotations

from absl import flags

from . import UsageError, define_int, define_output, output_of, require, run

COMMAND = "ffn-fiddle-predict"
FLAGS = flags.FlagValues()
flags.DEFINE_string("modeldir", None, "Model folder written by ffn-fiddle-train, or a model's "
                    "name (ffn-models lists them).", short_name="m", flag_values=FLAGS)
define_output(FLAGS, "Output folder (profiles.h5, predicted.plus.bw, predicted.minus.bw, ...).")
flags.DEFINE_string("genes", None, "Genes to predict: BED6 with strand, or GFF3.",
                    flag_values=FLAGS)
flags.DEFINE_string("regions", None, "Or stranded regions to predict: BED6, each region at "
                    "least as wide as the model's window.", flag_values=FLAGS)
flags.DEFINE_string("manifest", None, "Track manifest (default: the one the model trained with); "
                    "only the model's input tracks need to be in it.", flag_values=FLAGS)
define_int("window_step", None, "Step between window starts (bp; default: the model's).", FLAGS,
           minimum=1)
flags.DEFINE_boolean("overlapping_genes", False, "Also predict genes that overlap another gene "
                     "(default: as the model was trained).", flag_values=FLAGS)
flags.DEFINE_boolean("representations", False, "Also write representations.h5 (each module's "
                     "representation per window).", flag_values=FLAGS)
define_int("batchsize", 256, "Windows per batch.", FLAGS, minimum=1)
require(FLAGS, "modeldir")

#: library parameter -> flag, for the library's one-line errors
SETTING_FLAGS = {"model_dir": "-m", "output_dir": "-o", "overwrite": "-oc", "genes": "--genes",
                 "regions": "--regions", "manifest": "--manifest", "step": "--window_step",
                 "overlapping_genes": "--overlapping_genes",
                 "representations": "--representations", "batch_size": "--batchsize"}


def check() -> None:
    if (FLAGS.genes is None) == (FLAGS.regions is None):
        raise UsageError("give --genes FILE or --regions BED (one of them)")


def main() -> None:
    from ..fiddle.prediction import predict_fiddle

    output, overwrite = output_of(FLAGS)
    evaluation = predict_fiddle(FLAGS.modeldir, output, genes=FLAGS.genes, regions=FLAGS.regions,
                                manifest=FLAGS.manifest, step=FLAGS.window_step,
                                overlapping_genes=FLAGS.overlapping_genes,
                                representations=FLAGS.representations,
                                batch_size=FLAGS.batchsize, overwrite=overwrite)
    if evaluation is not None:
        print(evaluation.table())


def entry_point() -> None:
    run(COMMAND, __doc__, FLAGS, main, SETTING_FLAGS, check=check)


if __name__ == "__main__":
    entry_point()
