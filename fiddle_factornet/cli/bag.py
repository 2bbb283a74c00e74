"""Bag ENCODE-DREAM submissions of the same regions (e.g. from several models) by averaging their
ranks: each file's scores become ranks, the ranks are averaged and rescaled to [0, 1]; a bin that
is 0 in every file (blacklisted) stays 0. The rows keep the first file's order; scores are
written with 9 significant digits (--score_digits 4: the original FactorNet's '%.3e').

The bagged scores can also be written as genome-browser tracks (--bigwig, --bedgraph; they need
--genome for the chromosome sizes), by ffn-predict's rule: each 50 bp step carries the score of
the bin centred on it. -o is then optional; every output is refused if it exists, unless -oc.

example:
    ffn-bag -i F.CTCF.liver.1.tab.gz,F.CTCF.liver.2.tab.gz -o F.CTCF.liver.tab.gz
    ffn-bag -i F.CTCF.liver.1.tab.gz,F.CTCF.liver.2.tab.gz --genome hg19.fa --bigwig CTCF.liver.bw
"""

from __future__ import annotations

from absl import flags

from . import UsageError, define_int, define_output, output_of, require, run

COMMAND = "ffn-bag"
FLAGS = flags.FlagValues()
flags.DEFINE_list("inputfiles", None, "Submission files of the same rows (comma-separated).",
                  short_name="i", flag_values=FLAGS)
define_output(FLAGS, "The bagged submission (.gz: gzipped); optional with --bigwig or "
              "--bedgraph.", required=False)
flags.DEFINE_string("bigwig", None, "Also write a bigWig of the bagged scores (each 50 bp step: "
                    "the bin centred on it). Refused if it exists, unless -oc.", flag_values=FLAGS)
flags.DEFINE_string("bedgraph", None, "Also write a bedGraph of the bagged scores, as the bigWig "
                    "(.gz: gzipped). Refused if it exists, unless -oc.", flag_values=FLAGS)
flags.DEFINE_string("genome", None, "Chromosome sizes for the tracks: a chrom.sizes file, a .fai, "
                    "or the FASTA.", flag_values=FLAGS)
define_int("score_digits", 9, "Significant digits of the written scores (9 keep every float32; "
           "the original FactorNet wrote 4).", FLAGS, minimum=1)
require(FLAGS, "inputfiles")

#: library parameter -> flag, for the library's one-line errors
SETTING_FLAGS = {"paths": "-i", "output": "-o", "overwrite": "-oc",
                 "score_digits": "--score_digits", "bigwig": "--bigwig", "bedgraph": "--bedgraph",
                 "genome": "--genome"}


def check() -> None:
    """At least one output; tracks need --genome."""
    tracks = FLAGS.bigwig is not None or FLAGS.bedgraph is not None
    if output_of(FLAGS)[0] is None and not tracks:
        raise UsageError("give -o/--output PATH (a new output) or -oc/--output_replace PATH "
                         "(replacing an existing one), or a track: --bigwig PATH, --bedgraph PATH")
    if tracks and FLAGS.genome is None:
        raise UsageError("--bigwig and --bedgraph need --genome (the chromosome sizes)")


def main() -> None:
    from ..factornet.evaluation import bag_submissions

    output, overwrite = output_of(FLAGS)
    bag_submissions(FLAGS.inputfiles, output, overwrite, score_digits=FLAGS.score_digits,
                    bigwig=FLAGS.bigwig, bedgraph=FLAGS.bedgraph, genome=FLAGS.genome)


def entry_point() -> None:
    run(COMMAND, __doc__, FLAGS, main, SETTING_FLAGS, check)


if __name__ == "__main__":
    entry_point()
