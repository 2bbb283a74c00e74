"""Evaluate a FIDDLE model folder on its held-out windows: per-window KL and bin accuracy, with
random and replicate reference rows; learning curve and profile plots.

    ffn-fiddle-evaluate -m runs/fiddle_all -o runs/fiddle_all/eval
    ffn-fiddle-evaluate --compare dna=runs/dna/eval.summary.json,all=runs/all/eval.summary.json
"""

from __future__ import annotations

from absl import flags

from . import run
from ..fiddle.evaluation import evaluate_fiddle, study_table

FLAGS = flags.FLAGS
flags.DEFINE_string("modeldir", None, "Model folder written by ffn-fiddle-train.", short_name="m")
flags.DEFINE_string("output", None, "Prefix of the outputs (.regions.tsv, .summary.json, "
                    ".learning_curve.png, .profiles.png).", short_name="o")
flags.DEFINE_string("regions", None, "BED6 of windows to score (default: the model's test set).")
flags.DEFINE_string("manifest", None, "Track manifest (default: the one the model trained with).")
flags.DEFINE_integer("batchsize", 64, "Batch size.")
flags.DEFINE_boolean("overwrite", False, "Replace existing outputs.", short_name="oc")
flags.DEFINE_list("compare", None, "Instead: print one table of models evaluated on the same "
                  "windows, given as name=PREFIX.summary.json pairs.")
flags.register_multi_flags_validator(
    ["modeldir", "output", "compare"],
    lambda f: bool(f["compare"]) != bool(f["modeldir"] and f["output"]),
    message="give -m and -o, or --compare")


def main(argv: list[str]) -> None:
    if FLAGS.compare:
        print(study_table(dict(pair.split("=", 1) for pair in FLAGS.compare)))
        return
    evaluation = evaluate_fiddle(FLAGS.modeldir, FLAGS.output, regions=FLAGS.regions,
                                 manifest=FLAGS.manifest, batch_size=FLAGS.batchsize,
                                 overwrite=FLAGS.overwrite)
    print(evaluation.table())


def entry_point() -> None:
    run(main)


if __name__ == "__main__":
    entry_point()
