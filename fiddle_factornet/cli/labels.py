"""Write ENCODE-DREAM-style label files (chr start stop + one B/U/A column per cell type).

    ffn-labels -i HepG2,K562 -f CTCF --genome hg19.autoX.chrom.sizes -o CTCF.labels.tsv.gz
    ffn-labels -i HepG2 --genome hg19.fa -c chr21,chr22 -o labels/   # every TF: labels/TF.labels.tsv.gz
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from absl import flags

from . import run
from ..factornet.bins import BinGrid, write_label_table
from ..factornet.celltype import CellTypeFolder
from ..errors import InputError
from ..data.files import atomic_output
from ..data.genome import load_chrom_sizes

FLAGS = flags.FLAGS
flags.DEFINE_list("input_dirs", None, "Cell-type folders (comma-separated); one column each.",
                  short_name="i")
flags.DEFINE_string("factor", None, "TF to label; without it, every TF of the one folder given "
                    "gets its own file in the output folder.", short_name="f")
flags.DEFINE_string("genome", None, "Chromosome sizes: a chrom.sizes file, a .fai, or the FASTA.")
flags.DEFINE_list("chroms", None, "Chromosomes to label, in order (default: the chromosome set).",
                  short_name="c")
flags.DEFINE_boolean("autosomes_x", True, "Restrict the chromosome set to autosomes and X, as "
                     "FactorNet does.")
flags.DEFINE_boolean("allow_missing_relaxed", False, "Let the conservative peaks stand in for a "
                     "relaxed peak file that chip.txt names but that is absent.")
flags.DEFINE_string("output", None, "Output .tsv.gz (with -f) or folder (without -f).",
                    short_name="o")
flags.DEFINE_boolean("overwrite", False, "Replace existing outputs.", short_name="oc")
flags.mark_flags_as_required(["input_dirs", "genome", "output"])
FLAG_NAMES = ("input_dirs", "factor", "genome", "chroms", "autosomes_x", "allow_missing_relaxed",
              "output", "overwrite")

logger = logging.getLogger("ffn-labels")


def main(argv: list[str]) -> None:
    sizes = load_chrom_sizes(FLAGS.genome)
    if FLAGS.autosomes_x:
        sizes = sizes.autosomes_and_x()
    chroms = sizes.select(FLAGS.chroms).names if FLAGS.chroms else sizes.names
    grid = BinGrid(sizes)
    folders = [CellTypeFolder.read(d, FLAGS.allow_missing_relaxed, need_bigwigs=False)
               for d in FLAGS.input_dirs]
    output = Path(FLAGS.output)
    if FLAGS.factor:
        jobs = [(output, FLAGS.factor)]
    elif len(folders) == 1:
        output.mkdir(parents=True, exist_ok=True)
        jobs = [(output / f"{tf}.labels.tsv.gz", tf) for tf in folders[0].tfs]
    else:
        raise InputError("several cell-type folders need -f/--factor (the TF to label)")
    for path, tf in jobs:
        peak_sets = [folder.peaks(tf, sizes) for folder in folders]
        rows = write_label_table(path, grid, chroms, [folder.name for folder in folders],
                                 peak_sets, overwrite=FLAGS.overwrite)
        logger.info("wrote %s: %d bins x %d cell types (%s)", path, rows, len(folders), tf)
    settings = output.parent / f"{output.name}.args.json" if FLAGS.factor else output / "args.json"
    with atomic_output(settings, overwrite=True) as tmp:
        tmp.write_text(json.dumps({name: FLAGS[name].value for name in FLAG_NAMES}, indent=1))


def entry_point() -> None:
    run(main)


if __name__ == "__main__":
    entry_point()
