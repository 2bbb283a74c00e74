"""Which input a FIDDLE model's predicted peak leans on, per window, and what each module passes
to the scaffold. For every window (the model's test windows, or a BED6 of windows as wide as the
model's): the score is the predicted probability at the peak of the predicted profile; its
gradient, gradient x input and in-silico mutagenesis (DNA: every base to the three others;
signal tracks: each value set to 0) over every input track. Writes the folder -o:
attributions.h5 (per window: coordinates, strand, peak, score, per track and method an array
L x rows in the gene's orientation), representations.h5 (each module's representation, the
scaffold's input and the prediction, as the original's analysis.py), summary.tsv (per window
and track: total |attribution| and its share) and plots/ (the first --plots windows).

example:
    ffn-fiddle-attribute -m runs/fiddle_all -o runs/fiddle_all.attribution --plots 10
"""

from __future__ import annotations

from absl import flags

from . import define_int, define_output, output_of, require, run

COMMAND = "ffn-fiddle-attribute"
FLAGS = flags.FlagValues()
flags.DEFINE_string("modeldir", None, "Model folder written by ffn-fiddle-train, or a model's "
                    "name (ffn-models lists them).", short_name="m", flag_values=FLAGS)
define_output(FLAGS, "Output folder (attributions.h5, representations.h5, summary.tsv, plots/).")
flags.DEFINE_string("bed", None, "BED6 of windows, each as wide as the model's window "
                    "(default: the model's test set).", short_name="b", flag_values=FLAGS)
flags.DEFINE_string("manifest", None, "Track manifest (default: the one the model trained with).",
                    flag_values=FLAGS)
flags.DEFINE_list("methods", ["gradient", "gradxinput", "ism"], "Attributions to write: "
                  "gradient, gradxinput (gradient x input), ism (in-silico mutagenesis).",
                  flag_values=FLAGS)
define_int("batchsize", 128, "Windows, and ISM edits, per batch through the model.", FLAGS,
           minimum=1)
define_int("plots", 6, "Plot the first N windows (0: none).", FLAGS, minimum=0)
require(FLAGS, "modeldir")

#: library parameter -> flag, for the library's one-line errors
SETTING_FLAGS = {"model_dir": "-m", "output_dir": "-o", "overwrite": "-oc", "regions": "-b",
                 "manifest": "--manifest", "methods": "--methods", "batch_size": "--batchsize",
                 "n_plots": "--plots"}


def main() -> None:
    from ..fiddle.interpret import attribute_windows

    output, overwrite = output_of(FLAGS)
    attribute_windows(FLAGS.modeldir, output, regions=FLAGS.bed, manifest=FLAGS.manifest,
                      methods=FLAGS.methods, batch_size=FLAGS.batchsize, n_plots=FLAGS.plots,
                      overwrite=overwrite)


def entry_point() -> None:
    run(COMMAND, __doc__, FLAGS, main, SETTING_FLAGS)


if __name__ == "__main__":
    entry_point()
