"""Bag ENCODE-DREAM submissions of the same regions (e.g. from several models) by averaging their
ranks: each file's scores become ranks, the ranks are averaged and rescaled to [0, 1]; a bin that
is 0 in every file (blacklisted) stays 0. The rows keep the first file's order; scores are
written with 9 significant digits (--score_digits 4: the original FactorNet's '%.3e').

example:
    ffn-bag -i F.CTCF.liver.1.tab.gz,F.CTCF.liver.2.tab.gz -o F.CTCF.liver.tab.gz
"""

from __future__ import annotations

from absl import flags

from . import define_int, define_output, output_of, require, run

COMMAND = "ffn-bag"
FLAGS = flags.FlagValues()
flags.DEFINE_list("inputfiles", None, "Submission files of the same rows (comma-separated).",
                  short_name="i", flag_values=FLAGS)
define_output(FLAGS, "The bagged submission (.gz: gzipped).")
define_int("score_digits", 9, "Significant digits of the written scores (9 keep every float32; "
           "the original FactorNet wrote 4).", FLAGS, minimum=1)
require(FLAGS, "inputfiles")

#: library parameter -> flag, for the library's one-line errors
SETTING_FLAGS = {"paths": "-i", "output": "-o", "overwrite": "-oc",
                 "score_digits": "--score_digits"}


def main() -> None:
    from ..factornet.evaluation import bag_submissions

    output, overwrite = output_of(FLAGS)
    bag_submissions(FLAGS.inputfiles, output, overwrite, score_digits=FLAGS.score_digits)


def entry_point() -> None:
    run(COMMAND, __doc__, FLAGS, main, SETTING_FLAGS)


if __name__ == "__main__":
    entry_point()
