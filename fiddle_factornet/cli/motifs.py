"""Turn a FactorNet model's first-layer kernels into motifs (the original's visualize.py): in every
window and on both strands, the subsequence under each kernel's maximal activation (when > 0) is
collected; the sums become position-probability matrices (motifs.meme; the per-position dense
layer's: motifs2.meme), the tracks under them mean footprints (<track>_meansignal.npy,
footprints.tsv), drawn as logos (logos/, logo_sheet.png) and matched by TOMTOM against a motif
database (matches.tsv; JASPAR CORE vertebrates by default) after trimming end columns under
--trim_bits bits. Windows: centred on the BED's regions (-b) or on every 200 bp bin every 50 bp,
on the chromosomes of --chroms (default chr11, as the original; 'all': every one), clear of
--blacklist.

example:
    ffn-motifs -i data/HepG2 -m models/CTCF --genome hg19.fa --blacklist blacklist.bed.gz \\
        -b HepG2.CTCF.peaks.bed.gz -o motifs/CTCF       # windows on the peaks of chr11
    ffn-motifs -i data/HepG2 -m models/CTCF --genome hg19.fa --blacklist blacklist.bed.gz \\
        --chroms chr11 --motif_db HOCOMOCOv9.meme -o motifs/CTCF_bins   # every bin of chr11
"""

from __future__ import annotations

from absl import flags

from . import (CACHE_CHOICES, CACHE_HELP, define_choice, define_float, define_int,
               define_output, output_of, require, run)

COMMAND = "ffn-motifs"
FLAGS = flags.FlagValues()
flags.DEFINE_string("inputdir", None, "Cell-type folder whose tracks the windows read.",
                    short_name="i", flag_values=FLAGS)
flags.DEFINE_string("modeldir", None, "FactorNet model folder written by ffn-train or ffn-convert, "
                    "or a model's name (ffn-models lists them).", short_name="m", flag_values=FLAGS)
flags.DEFINE_string("bed", None, "BED of regions to centre the windows on (default: every bin).",
                    short_name="b", flag_values=FLAGS)
flags.DEFINE_list("chroms", ["chr11"], "Chromosomes whose windows are read (comma-separated; "
                  "the original's -c); 'all': every chromosome of the genome (or of the BED).",
                  flag_values=FLAGS)
define_output(FLAGS, "Output folder to write.")
flags.DEFINE_string("genome", None, "Genome FASTA (plain or bgzipped).", flag_values=FLAGS)
flags.DEFINE_string("blacklist", None, "Blacklist BED (FactorNet's blacklist.bed.gz): windows "
                    "within L of it are skipped; 'none': deliberately none (without this flag: "
                    "none, with a warning).", flag_values=FLAGS)
flags.DEFINE_string("gencode", None, "Folder of the six annotation BEDs, for models using them.",
                    short_name="g", flag_values=FLAGS)
define_int("batchsize", 500, "Windows per batch.", FLAGS, minimum=1)
flags.DEFINE_string("motif_db", "jaspar", "Motifs to match the kernels to: 'jaspar' (JASPAR CORE "
                    "vertebrates, latest release shipped by pyjaspar, offline), a MEME file, or "
                    "'none' (no matching).", flag_values=FLAGS)
define_int("top", 5, "Database matches kept per kernel.", FLAGS, minimum=1)
define_float("trim_bits", 0.2, "End columns of a kernel motif under this many bits are trimmed "
             "before matching (Basset's rule).", FLAGS, minimum=0)
define_choice("cache", "auto", CACHE_CHOICES, CACHE_HELP, FLAGS)
require(FLAGS, "inputdir", "modeldir", "genome")

#: library parameter -> flag, for the library's one-line errors
SETTING_FLAGS = {
    "model_dir": "-m", "cell_dir": "-i", "bed": "-b", "chroms": "--chroms", "output": "-o",
    "overwrite": "-oc", "genome": "--genome", "blacklist": "--blacklist",
    "annotations_dir": "-g", "batch_size": "--batchsize", "motif_db": "--motif_db",
    "top": "--top", "trim_bits": "--trim_bits", "cache": "--cache",
}


def main() -> None:
    from ..interpret.kernels import kernel_motifs
    from ..runs.models import resolve_model_dir

    output, overwrite = output_of(FLAGS)
    model_dir = resolve_model_dir(FLAGS.modeldir)
    kernel_motifs(model_dir, FLAGS.inputdir, FLAGS.genome, output, bed=FLAGS.bed,
                  chroms=FLAGS.chroms, blacklist=FLAGS.blacklist, annotations_dir=FLAGS.gencode,
                  batch_size=FLAGS.batchsize, motif_db=FLAGS.motif_db, top=FLAGS.top,
                  trim_bits=FLAGS.trim_bits, cache=CACHE_CHOICES[FLAGS.cache],
                  overwrite=overwrite)


def entry_point() -> None:
    run(COMMAND, __doc__, FLAGS, main, SETTING_FLAGS)


if __name__ == "__main__":
    entry_point()
