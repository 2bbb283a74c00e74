"""Write ENCODE-DREAM-style label files: chr, start, stop and one B/U/A column per cell type
(bound, unbound, ambiguous) over 200-bp bins every 50 bp.

With -f, one file for that TF over the cell-type folders given; without -f, one file per TF of
the one folder given, in the output folder (TF.labels.tsv.gz).

example:
    ffn-labels -i HepG2,K562 -f CTCF --genome hg19.autoX.chrom.sizes -o CTCF.labels.tsv.gz
    ffn-labels -i HepG2 --genome hg19.fa --chroms chr21,chr22 -o labels   # labels/TF.labels.tsv.gz
"""

from __future__ import annotations

from absl import flags

from . import define_output, output_of, require, run

COMMAND = "ffn-labels"
FLAGS = flags.FlagValues()
flags.DEFINE_list("inputdirs", None, "Cell-type folders (comma-separated); one column each.",
                  short_name="i", flag_values=FLAGS)
flags.DEFINE_string("factor", None, "TF to label; without it, every TF of the one folder given "
                    "gets its own file in the output folder.", short_name="f", flag_values=FLAGS)
flags.DEFINE_string("genome", None, "Chromosome sizes: a chrom.sizes file, a .fai, or the FASTA.",
                    flag_values=FLAGS)
flags.DEFINE_list("chroms", None, "Chromosomes to label, in order (default: the chromosome set).",
                  flag_values=FLAGS)
flags.DEFINE_boolean("autosomes_x", True, "Restrict the chromosome set to autosomes and X, as "
                     "FactorNet does.", flag_values=FLAGS)
flags.DEFINE_boolean("allow_missing_relaxed", False, "Let the conservative peaks stand in for a "
                     "relaxed peak file that chip.txt names but that is absent.", flag_values=FLAGS)
define_output(FLAGS, "Output .tsv.gz (with -f) or folder (without -f).")
require(FLAGS, "inputdirs", "genome")

#: library parameter -> flag, for the library's one-line errors
SETTING_FLAGS = {"input_dirs": "-i", "factor": "-f", "genome": "--genome", "chroms": "--chroms",
                 "autosomes_x": "--autosomes_x", "allow_missing_relaxed": "--allow_missing_relaxed",
                 "output": "-o", "overwrite": "-oc"}


def main() -> None:
    from ..factornet.bins import write_label_files

    output, overwrite = output_of(FLAGS)
    write_label_files(FLAGS.inputdirs, output, FLAGS.genome, factor=FLAGS.factor,
                      chroms=FLAGS.chroms, autosomes_x=FLAGS.autosomes_x,
                      allow_missing_relaxed=FLAGS.allow_missing_relaxed, overwrite=overwrite)


def entry_point() -> None:
    run(COMMAND, __doc__, FLAGS, main, SETTING_FLAGS)


if __name__ == "__main__":
    entry_point()
