"""Score an ENCODE-DREAM submission against labels: auROC, auPR (as the challenge), recall at FDR.

    ffn-evaluate -p F.CTCF.liver.tab.gz -l CTCF.train.labels.tsv.gz -c liver --chroms chr1,chr8,chr21
    ffn-evaluate -p predictions.tab.gz -l labels.bed.gz -o scores/CTCF   # scores/CTCF.tsv, .json
"""

from __future__ import annotations

from absl import flags

from . import run
from ..factornet.evaluation import evaluate, evaluation_outputs, write_evaluation
from ..data.files import check_output

FLAGS = flags.FLAGS
flags.DEFINE_string("predictions", None, "Submission file: chrom, start, end, probability (no "
                    "header; gzipped or plain).", short_name="p")
flags.DEFINE_string("labels", None, "Labels: an ENCODE-DREAM label file (chr start stop <cell "
                    "types>, B/U/A) or a BED of chrom, start, end, 0/1.", short_name="l")
flags.DEFINE_string("cell_type", None, "The label file's column to score against (default: its "
                    "only one).", short_name="c")
flags.DEFINE_list("chroms", None, "Score these chromosomes only (both files are restricted to "
                  "them first).")
flags.DEFINE_string("output", None, "Also write the figures to PREFIX.tsv and PREFIX.json.",
                    short_name="o")
flags.DEFINE_boolean("overwrite", False, "Replace existing outputs.", short_name="oc")
flags.mark_flags_as_required(["predictions", "labels"])
FLAG_NAMES = ("predictions", "labels", "cell_type", "chroms", "output", "overwrite")


def main(argv: list[str]) -> None:
    if FLAGS.output:
        for path in evaluation_outputs(FLAGS.output):
            check_output(path, FLAGS.overwrite)
    evaluation = evaluate(FLAGS.predictions, FLAGS.labels, FLAGS.cell_type, FLAGS.chroms)
    print(evaluation.table())
    if FLAGS.output:
        write_evaluation(FLAGS.output, evaluation, FLAGS.overwrite,
                         args={name: FLAGS[name].value for name in FLAG_NAMES})


def entry_point() -> None:
    run(main)


if __name__ == "__main__":
    entry_point()
