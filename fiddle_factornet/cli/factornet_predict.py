"""Predict with a FactorNet model folder (from ffn-train or ffn-convert) in a cell type: an
ENCODE-DREAM submission file (chrom, start, end, probability; one row per bin, in the bins' order)
and/or genome-browser tracks of the same scores. The bins are a BED's rows (-b) or every 200 bp
bin, every 50 bp, of chosen chromosomes (--chroms; 'all': the whole genome); bins near the
blacklist (--blacklist) score 0. Probabilities are written with 9 significant digits
(--score_digits 4: the original's '%.3e').

Tracks (--bigwig, --bedgraph): each 50 bp step carries the score of the bin centred on it (bin
[s, s+200) on [s+75, s+125)); bins farther apart leave gaps, closer ones end where the next
begins; chromosome sizes and order from the genome, intervals sorted and non-overlapping, zoom
levels: ready for IGV and the UCSC browser. -o is then optional; every output is written under a
temporary name, renamed when complete, and refused if it exists unless -oc is given.

By default consecutive bins share the convolution (the stretch path: runs of 4 or more bins of one
width and step; the same scores within 1e-5, about 2.5x faster on 2 cores); --nostretch scores
every bin alone.

Shards (--shard K/N, K counted from 1 like a SLURM array's task ids 1..N): the bins (the BED's
rows or the chromosomes' bins, in order) cut into N contiguous runs of nearly equal length; this
run scores run K alone and writes its own outputs, each with a run record naming the shard.
ffn-merge-shards joins the N outputs of a kind into the file one run without --shard writes.

example:
    ffn-predict -i data/liver -m models/CTCF -f CTCF -b ladder_regions.blacklistfiltered.bed.gz \\
        --genome hg19.fa --blacklist blacklist.bed.gz -o L.CTCF.liver.tab.gz
    ffn-predict -i data/liver -m models/CTCF -f CTCF --chroms chr1,chr21 --genome hg19.fa \\
        --blacklist blacklist.bed.gz --bigwig CTCF.liver.bw
    ffn-predict -i data/liver -m models/CTCF -f CTCF --chroms all --genome hg19.fa \\
        --blacklist blacklist.bed.gz --shard 3/8 --bigwig CTCF.liver.3-of-8.bw
"""

from __future__ import annotations

from absl import flags

from . import (CACHE_CHOICES, CACHE_HELP, UsageError, define_choice, define_int, define_output,
               output_of, require, run)


class ShardParser(flags.ArgumentParser):
    """``K/N``: shard K of N, 1 <= K <= N; the value is the pair (K, N)."""

    def parse(self, argument):
        if isinstance(argument, tuple):
            return argument
        index, slash, count = str(argument).strip().partition("/")
        if slash and index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count):
            return int(index), int(count)
        raise ValueError("must be K/N with 1 <= K <= N: shard K of N, counted from 1 (e.g. "
                         "$SLURM_ARRAY_TASK_ID/8)")

    def flag_type(self) -> str:
        return "shard"


COMMAND = "ffn-predict"
FLAGS = flags.FlagValues()
flags.DEFINE_string("inputdir", None, "Cell-type folder to predict in.", short_name="i",
                    flag_values=FLAGS)
flags.DEFINE_string("modeldir", None, "Model folder written by ffn-train or ffn-convert, or a "
                    "model's name (ffn-models lists them).", short_name="m", flag_values=FLAGS)
flags.DEFINE_string("factor", None, "TF to predict.", short_name="f", flag_values=FLAGS)
flags.DEFINE_string("bed", None, "BED of the bins to score (rows kept in order); or --chroms.",
                    short_name="b", flag_values=FLAGS)
flags.DEFINE_list("chroms", None, "Instead of -b: score every 200 bp bin, every 50 bp, of these "
                  "chromosomes (comma-separated, in order; 'all': every chromosome of the genome).",
                  flag_values=FLAGS)
define_output(FLAGS, "Submission file to write (.gz: gzipped); optional with --bigwig or "
              "--bedgraph.", required=False)
flags.DEFINE_string("bigwig", None, "Also write a bigWig of the scores (each 50 bp step: the bin "
                    "centred on it). Refused if it exists, unless -oc.", flag_values=FLAGS)
flags.DEFINE_string("bedgraph", None, "Also write a bedGraph of the scores, as the bigWig (.gz: "
                    "gzipped). Refused if it exists, unless -oc.", flag_values=FLAGS)
flags.DEFINE_string("genome", None, "Genome FASTA (plain or bgzipped).", flag_values=FLAGS)
flags.DEFINE_string("blacklist", None, "Blacklist BED (FactorNet's blacklist.bed.gz): bins within "
                    "L of it score 0; 'none': deliberately none (without this flag: none, with a "
                    "warning).", flag_values=FLAGS)
flags.DEFINE_string("gencode", None, "Folder of the six annotation BEDs, for models using them.",
                    short_name="g", flag_values=FLAGS)
flags.DEFINE_boolean("stretch", True, "Share the convolution between consecutive bins (runs of 4 "
                     "or more bins of one width and step); the same scores within 1e-5.",
                     flag_values=FLAGS)
flags.DEFINE(ShardParser(), "shard", None, "Score only shard K of N: the K-th of N contiguous, "
             "nearly equal runs of the bins, K counted from 1 (1/N to N/N, like a SLURM array's "
             "task ids 1..N); merge the N outputs with ffn-merge-shards.", flag_values=FLAGS)
define_int("batchsize", 1000, "Bins scored per batch.", FLAGS, minimum=1)
define_choice("cache", "auto", CACHE_CHOICES, CACHE_HELP, FLAGS)
define_int("score_digits", 9, "Significant digits of the written probabilities (9 keep every "
           "float32; the original FactorNet wrote 4).", FLAGS, minimum=1)
require(FLAGS, "inputdir", "modeldir", "factor", "genome")

#: library parameter -> flag, for the library's one-line errors
SETTING_FLAGS = {
    "model_dir": "-m", "cell_dir": "-i", "tf": "-f", "regions": "-b, --chroms", "output": "-o",
    "overwrite": "-oc", "genome": "--genome", "blacklist": "--blacklist",
    "annotations_dir": "-g", "batch_size": "--batchsize", "cache": "--cache",
    "score_digits": "--score_digits", "chroms": "--chroms", "bigwig": "--bigwig",
    "bedgraph": "--bedgraph", "stretch": "--stretch", "shard": "--shard",
}


def check() -> None:
    """One of -b and --chroms; at least one output."""
    if (FLAGS.bed is None) == (not FLAGS.chroms):
        raise UsageError("give -b/--bed BED or --chroms CHR,... (the bins to score), not both"
                         if FLAGS.bed is not None else
                         "missing -b/--bed BED or --chroms CHR,... (the bins to score; see --help)")
    if output_of(FLAGS)[0] is None and FLAGS.bigwig is None and FLAGS.bedgraph is None:
        raise UsageError("give -o/--output PATH (a new submission) or -oc/--output_replace PATH "
                         "(replacing one), or a track: --bigwig PATH, --bedgraph PATH")


def main() -> None:
    from ..factornet.prediction import predict_regions
    from ..factornet.shards import Shard

    output, overwrite = output_of(FLAGS)
    predict_regions(FLAGS.modeldir, FLAGS.inputdir, FLAGS.factor, FLAGS.bed, output, FLAGS.genome,
                    blacklist=FLAGS.blacklist, annotations_dir=FLAGS.gencode,
                    batch_size=FLAGS.batchsize, cache=CACHE_CHOICES[FLAGS.cache],
                    overwrite=overwrite, score_digits=FLAGS.score_digits,
                    chroms=FLAGS.chroms or None,
                    bigwig=FLAGS.bigwig, bedgraph=FLAGS.bedgraph, stretch=FLAGS.stretch,
                    shard=None if FLAGS.shard is None else Shard(*FLAGS.shard))


def entry_point() -> None:
    run(COMMAND, __doc__, FLAGS, main, SETTING_FLAGS, check)


if __name__ == "__main__":
    entry_point()
