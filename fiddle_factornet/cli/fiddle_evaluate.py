"""Evaluate a FIDDLE model folder on its held-out windows: per-window KL and bin accuracy, with
random and replicate reference rows; learning curve and profile plots.

    ffn-fiddle-evaluate -m runs/fiddle_all -o runs/fiddle_all/eval
"""

from __future__ import annotations

from absl import flags

from . import run
from ..fiddle.evaluation import evaluate_fiddle

FLAGS = flags.FLAGS
flags.DEFINE_string("modeldir", None, "Model folder written by ffn-fiddle-train.", short_name="m")
flags.DEFINE_string("output", None, "Prefix of the outputs (.regions.tsv, .summary.json, "
                    ".learning_curve.png, .profiles.png).", short_name="o")
flags.DEFINE_string("regions", None, "BED6 of windows to score (default: the model's test set).")
flags.DEFINE_string("manifest", None, "Track manifest (default: the one the model trained with).")
flags.DEFINE_integer("batchsize", 64, "Batch size.")
flags.DEFINE_boolean("overwrite", False, "Replace existing outputs.", short_name="oc")
flags.mark_flags_as_required(["modeldir", "output"])


def main(argv: list[str]) -> None:
    evaluation = evaluate_fiddle(FLAGS.modeldir, FLAGS.output, regions=FLAGS.regions,
                                 manifest=FLAGS.manifest, batch_size=FLAGS.batchsize,
                                 overwrite=FLAGS.overwrite)
    print(evaluation.table())


def entry_point() -> None:
    run(main)


if __name__ == "__main__":
    entry_point()
