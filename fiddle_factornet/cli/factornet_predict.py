"""Predict with a FactorNet model folder and write an ENCODE-DREAM submission file:

    ffn-predict -i data/liver -m models/CTCF -f CTCF -b ladder_regions.blacklistfiltered.bed.gz \\
        --genome hg19.fa --blacklist blacklist.bed.gz -o L.CTCF.liver.tab.gz
"""

from __future__ import annotations

from absl import flags

from . import CACHE_CHOICES, run
from ..factornet.prediction import predict_regions

FLAGS = flags.FLAGS
flags.DEFINE_string("inputdir", None, "Cell-type folder to predict in.", short_name="i")
flags.DEFINE_string("modeldir", None, "Model folder written by ffn-train.", short_name="m")
flags.DEFINE_string("factor", None, "TF to predict.", short_name="f")
flags.DEFINE_string("bed", None, "BED of the bins to score (rows kept in order).", short_name="b")
flags.DEFINE_string("outputfile", None, "Submission file to write (.gz).", short_name="o")
flags.DEFINE_string("genome", None, "Genome FASTA (plain or bgzipped).")
flags.DEFINE_string("blacklist", None, "Blacklist BED: bins near it score 0.")
flags.DEFINE_string("gencode", None, "Folder of the six annotation BEDs, for models using them.",
                    short_name="g")
flags.DEFINE_integer("batchsize", 1000, "Bins scored per batch.")
flags.DEFINE_enum("cache", "auto", list(CACHE_CHOICES), "Memory-mapped caches: build and "
                  "use them, never, or use existing ones.")
flags.DEFINE_boolean("overwrite", False, "Replace an existing output file.", short_name="oc")
flags.mark_flags_as_required(["inputdir", "modeldir", "factor", "bed", "outputfile", "genome"])


def main(argv: list[str]) -> None:
    predict_regions(FLAGS.modeldir, FLAGS.inputdir, FLAGS.factor, FLAGS.bed, FLAGS.outputfile,
                    FLAGS.genome, blacklist=FLAGS.blacklist, annotations_dir=FLAGS.gencode,
                    batch_size=FLAGS.batchsize,
                    cache=CACHE_CHOICES[FLAGS.cache],
                    overwrite=FLAGS.overwrite)


def entry_point() -> None:
    run(main)


if __name__ == "__main__":
    entry_point()
