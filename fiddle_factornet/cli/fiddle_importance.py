"""Sufficiency and necessity of each input of a FIDDLE model, per window and on average:

    ffn-fiddle-importance -m runs/fiddle_all -o runs/fiddle_all/eval
"""

from __future__ import annotations

from absl import flags

from . import run
from ..fiddle.importance import importance_of_model, importance_table

FLAGS = flags.FLAGS
flags.DEFINE_string("modeldir", None, "Model folder written by ffn-fiddle-train.", short_name="m")
flags.DEFINE_string("output", None, "Prefix of the outputs (.importance.tsv, .importance.json).",
                    short_name="o")
flags.DEFINE_string("regions", None, "BED6 of windows (default: the model's test set).")
flags.DEFINE_string("manifest", None, "Track manifest (default: the one the model trained with).")
flags.DEFINE_boolean("overwrite", False, "Replace existing outputs.", short_name="oc")
flags.mark_flags_as_required(["modeldir", "output"])


def main(argv: list[str]) -> None:
    means = importance_of_model(FLAGS.modeldir, FLAGS.output, regions=FLAGS.regions,
                                manifest=FLAGS.manifest, overwrite=FLAGS.overwrite)
    print(importance_table(means))


def entry_point() -> None:
    run(main)


if __name__ == "__main__":
    entry_point()
