"""Evaluate a FIDDLE model folder on its held-out windows: per-window KL divergence and bin
accuracy, beside random and replicate reference rows; learning-curve and profile plots. Writes
PREFIX.regions.tsv, PREFIX.summary.json, PREFIX.learning_curve.png and PREFIX.profiles.png, and
prints the table. A model trained from the authors' HDF5 datasets (ffn-fiddle-train --hdf5) is
scored on every row of its test file, or of the file given by --hdf5. With --compare instead,
prints one table of models evaluated on the same windows (writes nothing).

example:
    ffn-fiddle-evaluate -m runs/fiddle_all -o runs/fiddle_all.eval
    ffn-fiddle-evaluate -m runs/fiddle_published --hdf5 data/other/test.h5 -o runs/other.eval
    ffn-fiddle-evaluate --compare dna=runs/dna.eval.summary.json,all=runs/all.eval.summary.json
"""

from __future__ import annotations

from absl import flags

from . import UsageError, define_int, define_output, output_of, run

COMMAND = "ffn-fiddle-evaluate"
FLAGS = flags.FlagValues()
flags.DEFINE_string("modeldir", None, "Model folder written by ffn-fiddle-train, or a model's "
                    "name (ffn-models lists them); with -o/-oc.",
                    short_name="m", flag_values=FLAGS)
define_output(FLAGS, "Prefix of the outputs (.regions.tsv, .summary.json, .learning_curve.png, "
              ".profiles.png); needed with -m.", required=False)
flags.DEFINE_string("regions", None, "BED6 of windows to score, each as wide as the model's "
                    "window (default: the model's test set).",
                    flag_values=FLAGS)
flags.DEFINE_string("manifest", None, "Track manifest (default: the one the model trained with).",
                    flag_values=FLAGS)
flags.DEFINE_string("hdf5", None, "An HDF5 file in the authors' layout whose rows to score, "
                    "instead of windows and a manifest (default, for a model trained from HDF5 "
                    "datasets: its test file).", flag_values=FLAGS)
define_int("batchsize", 64, "Batch size.", FLAGS, minimum=1)
flags.DEFINE_list("compare", None, "Instead of -m: print one table of models evaluated on the "
                  "same windows, given as name=PREFIX.summary.json pairs.", flag_values=FLAGS)

#: library parameter -> flag, for the library's one-line errors
SETTING_FLAGS = {"model_dir": "-m", "output_prefix": "-o", "overwrite": "-oc",
                 "regions": "--regions", "manifest": "--manifest", "batch_size": "--batchsize",
                 "summaries": "--compare", "hdf5": "--hdf5"}


def check() -> None:
    output, _ = output_of(FLAGS)
    if FLAGS.compare:
        if FLAGS.modeldir or output or FLAGS.hdf5:
            raise UsageError("give --compare alone, or -m/--modeldir with -o/-oc")
        bad = [pair for pair in FLAGS.compare if "=" not in pair or pair.startswith("=")
               or pair.endswith("=")]
        if bad:
            raise UsageError(f"bad value {bad[0]!r} for --compare: must be name=PREFIX.summary.json")
    elif not FLAGS.modeldir or not output:
        raise UsageError("give -m/--modeldir with -o/--output PATH (or -oc/--output_replace PATH), "
                         "or --compare")
    elif FLAGS.hdf5 and (FLAGS.regions or FLAGS.manifest):
        raise UsageError("give --hdf5 (the rows of an HDF5 file) or --regions/--manifest, not both")


def main() -> None:
    from ..fiddle.evaluation import evaluate_fiddle, study_table

    if FLAGS.compare:
        print(study_table(dict(pair.split("=", 1) for pair in FLAGS.compare)))
        return
    output, overwrite = output_of(FLAGS)
    evaluation = evaluate_fiddle(FLAGS.modeldir, output, regions=FLAGS.regions,
                                 manifest=FLAGS.manifest, batch_size=FLAGS.batchsize,
                                 overwrite=overwrite, hdf5=FLAGS.hdf5)
    print(evaluation.table())


def entry_point() -> None:
    run(COMMAND, __doc__, FLAGS, main, SETTING_FLAGS, check=check)


if __name__ == "__main__":
    entry_point()
