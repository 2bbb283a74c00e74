"""Score an ENCODE-DREAM submission against labels: auROC, auPR (as the challenge scored them)
and recall at fixed FDRs, printed as a table; with -o/-oc also written to PREFIX.tsv and
PREFIX.json. Ambiguous (A) bins are left out. Every score must be a probability in [0, 1]: a
missing, NaN, infinite, negative or larger score stops the command, naming its line.

example:
    ffn-evaluate -i F.CTCF.liver.tab.gz -l CTCF.train.labels.tsv.gz -c liver --chroms chr1,chr8,chr21
    ffn-evaluate -i predictions.tab.gz -l labels.bed.gz -o scores/CTCF   # scores/CTCF.tsv, .json
"""

from __future__ import annotations

from absl import flags

from . import define_output, output_of, require, run

COMMAND = "ffn-evaluate"
FLAGS = flags.FlagValues()
flags.DEFINE_string("predictions", None, "Submission file: chrom, start, end, probability (no "
                    "header; gzipped or plain).", short_name="i", flag_values=FLAGS)
flags.DEFINE_string("labels", None, "Labels: an ENCODE-DREAM label file (chr start stop <cell "
                    "types>, B/U/A) or a BED of chrom, start, end, 0/1.", short_name="l",
                    flag_values=FLAGS)
flags.DEFINE_string("cell_type", None, "The label file's column to score against (default: its "
                    "only one).", short_name="c", flag_values=FLAGS)
flags.DEFINE_list("chroms", None, "Score these chromosomes only (both files are restricted to "
                  "them first).", flag_values=FLAGS)
define_output(FLAGS, "Also write the figures to PREFIX.tsv and PREFIX.json.", required=False)
require(FLAGS, "predictions", "labels")

#: library parameter -> flag, for the library's one-line errors
SETTING_FLAGS = {"predictions": "-i", "labels": "-l", "cell_type": "-c", "chroms": "--chroms",
                 "output": "-o", "overwrite": "-oc"}


def main() -> None:
    from ..factornet.evaluation import score_submission

    output, overwrite = output_of(FLAGS)
    evaluation = score_submission(FLAGS.predictions, FLAGS.labels, cell_type=FLAGS.cell_type,
                                  chroms=FLAGS.chroms, output=output, overwrite=overwrite)
    print(evaluation.table())


def entry_point() -> None:
    run(COMMAND, __doc__, FLAGS, main, SETTING_FLAGS)


if __name__ == "__main__":
    entry_point()
