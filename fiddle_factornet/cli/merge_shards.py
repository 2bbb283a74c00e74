"""Merge the outputs of the N shards of one prediction (ffn-predict --shard K/N) into the file one
run without --shard writes: the N submissions into one submission, or the N bigWigs into one
bigWig, or the N bedGraphs into one bedGraph (one kind per call). -i takes the shard files in any
order, as paths or quoted glob patterns ('pred.*.tab.gz'; run records left out).

Each shard's run record (beside its file) says which shard it is; the merge refuses, in one line
naming the file at fault, a missing shard, a shard given twice, shards of different N, bins or
prediction settings (model, cell type, factor, bins, genome, blacklist, batch size, digits, ...),
and a file whose rows or intervals are not as many as its record says (a truncated file). The
merged submission is the unsharded run's, byte for byte; the merged tracks too (each shard's last
50 bp step cut where the next shard's first begins, equal neighbours joined, the genome's header).
Tracks need the shards' bins in position order on each chromosome (every --chroms prediction, a
BED sorted within chromosomes), and bedGraphs 9 significant digits (the default). The output is
written under a temporary name and renamed when complete, with a run record beside it.

example:
    ffn-merge-shards -i 'CTCF.liver.*-of-8.tab.gz' -o F.CTCF.liver.tab.gz
    ffn-merge-shards -i CTCF.1.bw,CTCF.2.bw,CTCF.3.bw -o CTCF.liver.bw
"""

from __future__ import annotations

from absl import flags

from . import define_output, output_of, require, run

COMMAND = "ffn-merge-shards"
FLAGS = flags.FlagValues()
flags.DEFINE_list("inputfiles", None, "The shards' outputs of one kind: files or quoted glob "
                  "patterns, comma-separated, in any order.", short_name="i", flag_values=FLAGS)
define_output(FLAGS, "The merged file (a submission: gzipped, as ffn-predict writes it; a "
              "bedGraph: gzipped when the name ends in .gz).")
require(FLAGS, "inputfiles")

#: library parameter -> flag, for the library's one-line errors
SETTING_FLAGS = {"paths": "-i", "output": "-o", "overwrite": "-oc"}


def main() -> None:
    from ..factornet.shards import merge_shards, shard_paths

    output, overwrite = output_of(FLAGS)
    merge_shards(shard_paths(FLAGS.inputfiles), output, overwrite)


def entry_point() -> None:
    run(COMMAND, __doc__, FLAGS, main, SETTING_FLAGS)


if __name__ == "__main__":
    entry_point()
