"""Sufficiency and necessity of each input of a FIDDLE model, per window and on average: how well
the model does with that input alone, and how much worse without it. Sufficiency is given both
ways: "sufficiency", the paper's reading (high = sufficient), and "sufficiency_notebook", the
authors' notebook's score (0.5 = sufficient, higher = less so). Writes PREFIX.importance.tsv (per
window) and PREFIX.importance.json (means), and prints the means.

example:
    ffn-fiddle-importance -m runs/fiddle_all -o runs/fiddle_all.eval
"""

from __future__ import annotations

from absl import flags

from . import define_output, output_of, require, run

COMMAND = "ffn-fiddle-importance"
FLAGS = flags.FlagValues()
flags.DEFINE_string("modeldir", None, "Model folder written by ffn-fiddle-train, or a model's "
                    "name (ffn-models lists them).", short_name="m", flag_values=FLAGS)
define_output(FLAGS, "Prefix of the outputs (.importance.tsv, .importance.json).")
flags.DEFINE_string("regions", None, "BED6 of windows to score, each as wide as the model's "
                    "window (default: the model's test set).",
                    flag_values=FLAGS)
flags.DEFINE_string("manifest", None, "Track manifest (default: the one the model trained with).",
                    flag_values=FLAGS)
require(FLAGS, "modeldir")

#: library parameter -> flag, for the library's one-line errors
SETTING_FLAGS = {"model_dir": "-m", "output_prefix": "-o", "overwrite": "-oc",
                 "regions": "--regions", "manifest": "--manifest"}


def main() -> None:
    from ..fiddle.importance import importance_of_model, importance_table

    output, overwrite = output_of(FLAGS)
    means = importance_of_model(FLAGS.modeldir, output, regions=FLAGS.regions,
                                manifest=FLAGS.manifest, overwrite=overwrite)
    print(importance_table(means))


def entry_point() -> None:
    run(COMMAND, __doc__, FLAGS, main, SETTING_FLAGS)


if __name__ == "__main__":
    entry_point()
