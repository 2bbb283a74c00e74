"""Predict with a FactorNet model folder (from ffn-train or ffn-convert) in a cell type and write
an ENCODE-DREAM submission file: chrom, start, end, probability, one row per bin of the BED, in
its order; bins near the blacklist (--blacklist) score 0. Probabilities are written with 9
significant digits (--score_digits 4: the original's '%.3e').

example:
    ffn-predict -i data/liver -m models/CTCF -f CTCF -b ladder_regions.blacklistfiltered.bed.gz \\
        --genome hg19.fa --blacklist blacklist.bed.gz -o L.CTCF.liver.tab.gz
"""

from __future__ import annotations

from absl import flags

from . import (CACHE_CHOICES, CACHE_HELP, define_choice, define_int, define_output, output_of,
               require, run)

COMMAND = "ffn-predict"
FLAGS = flags.FlagValues()
flags.DEFINE_string("inputdir", None, "Cell-type folder to predict in.", short_name="i",
                    flag_values=FLAGS)
flags.DEFINE_string("modeldir", None, "Model folder written by ffn-train or ffn-convert.",
                    short_name="m", flag_values=FLAGS)
flags.DEFINE_string("factor", None, "TF to predict.", short_name="f", flag_values=FLAGS)
flags.DEFINE_string("bed", None, "BED of the bins to score (rows kept in order).", short_name="b",
                    flag_values=FLAGS)
define_output(FLAGS, "Submission file to write (.gz: gzipped).")
flags.DEFINE_string("genome", None, "Genome FASTA (plain or bgzipped).", flag_values=FLAGS)
flags.DEFINE_string("blacklist", None, "Blacklist BED (FactorNet's blacklist.bed.gz): bins within "
                    "L of it score 0; 'none': deliberately none (without this flag: none, with a "
                    "warning).", flag_values=FLAGS)
flags.DEFINE_string("gencode", None, "Folder of the six annotation BEDs, for models using them.",
                    short_name="g", flag_values=FLAGS)
define_int("batchsize", 1000, "Bins scored per batch.", FLAGS, minimum=1)
define_choice("cache", "auto", CACHE_CHOICES, CACHE_HELP, FLAGS)
define_int("score_digits", 9, "Significant digits of the written probabilities (9 keep every "
           "float32; the original FactorNet wrote 4).", FLAGS, minimum=1)
require(FLAGS, "inputdir", "modeldir", "factor", "bed", "genome")

#: library parameter -> flag, for the library's one-line errors
SETTING_FLAGS = {
    "model_dir": "-m", "cell_dir": "-i", "tf": "-f", "regions": "-b", "output": "-o",
    "overwrite": "-oc", "genome": "--genome", "blacklist": "--blacklist",
    "annotations_dir": "-g", "batch_size": "--batchsize", "cache": "--cache",
    "score_digits": "--score_digits",
}


def main() -> None:
    from ..factornet.prediction import predict_regions

    output, overwrite = output_of(FLAGS)
    predict_regions(FLAGS.modeldir, FLAGS.inputdir, FLAGS.factor, FLAGS.bed, output, FLAGS.genome,
                    blacklist=FLAGS.blacklist, annotations_dir=FLAGS.gencode,
                    batch_size=FLAGS.batchsize, cache=CACHE_CHOICES[FLAGS.cache],
                    overwrite=overwrite, score_digits=FLAGS.score_digits)


def entry_point() -> None:
    run(COMMAND, __doc__, FLAGS, main, SETTING_FLAGS)


if __name__ == "__main__":
    entry_point()
