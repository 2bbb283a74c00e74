"""Attribute a FactorNet model's prediction for chosen regions to its inputs: saliency (the paper's:
the gradient, negative values set to 0), gradient x input, integrated gradients (ig) and in-silico
mutagenesis (ism), for the DNA and for every track, both strands summed on forward coordinates.
Writes one folder: attributions.npz (per-region arrays and inputs), regions.tsv (scores, top
positions), bigwig/ (one track per method, and per method and input track, over the regions'
windows) and plots/ (a logo per method over the central bases, the tracks beneath).

example:
    ffn-attribute -i data/liver -m models/HNF4A -f HNF4A -b peaks.bed --genome hg19.fa \\
        -g resources -o attributions/HNF4A.liver
"""

from __future__ import annotations

from absl import flags

from . import (CACHE_CHOICES, CACHE_HELP, define_choice, define_float, define_int, define_output,
               output_of, require, run)

COMMAND = "ffn-attribute"
FLAGS = flags.FlagValues()
flags.DEFINE_string("inputdir", None, "Cell-type folder whose tracks and meta features the model "
                    "reads.", short_name="i", flag_values=FLAGS)
flags.DEFINE_string("modeldir", None, "Model folder written by ffn-train or ffn-convert, or a "
                    "model's name (ffn-models lists them).", short_name="m", flag_values=FLAGS)
flags.DEFINE_string("factor", None, "TF whose prediction is attributed.", short_name="f",
                    flag_values=FLAGS)
flags.DEFINE_string("bed", None, "BED of the regions (each scored in the model's window centred "
                    "on it; a name column names them).", short_name="b", flag_values=FLAGS)
define_output(FLAGS, "Output folder to write.")
flags.DEFINE_string("genome", None, "Genome FASTA (plain or bgzipped).", flag_values=FLAGS)
flags.DEFINE_string("gencode", None, "Folder of the six annotation BEDs, for models using them.",
                    short_name="g", flag_values=FLAGS)
flags.DEFINE_list("methods", ["saliency", "gradxinput", "ig", "ism"], "Attribution methods "
                  "(comma-separated): saliency, gradxinput, ig, ism.", flag_values=FLAGS)
define_choice("baseline", "zero", ("zero", "uniform"), "Integrated gradients' baseline for the "
              "DNA: zero (every channel 0, as the model sees N) or uniform (0.25 each); tracks 0.",
              FLAGS)
define_int("ig_steps", 64, "Integrated gradients: intervals of the path (trapezoid rule).", FLAGS,
           minimum=1)
define_float("ig_rtol", 0.01, "Integrated gradients: halve the intervals of a region (up to 16x "
             "--ig_steps) while its attributions miss score - baseline score by more than this "
             "fraction (0: never).", FLAGS, minimum=0)
define_int("batchsize", 256, "Windows, integrated-gradient points or ISM variants per model call.",
           FLAGS, minimum=1)
define_choice("cache", "auto", CACHE_CHOICES, CACHE_HELP, FLAGS)
define_int("plot_width", 200, "Central bases of the window drawn in each region's plot.", FLAGS,
           minimum=1)
define_int("plots", None, "Plot only the first N regions (0: none; default: every region).",
           FLAGS, minimum=0)
require(FLAGS, "inputdir", "modeldir", "factor", "bed", "genome")

#: library parameter -> flag, for the library's one-line errors
SETTING_FLAGS = {
    "model_dir": "-m", "cell_dir": "-i", "tf": "-f", "regions": "-b", "output": "-o",
    "overwrite": "-oc", "genome": "--genome", "annotations_dir": "-g", "methods": "--methods",
    "baseline": "--baseline", "ig_steps": "--ig_steps", "ig_rtol": "--ig_rtol",
    "batch_size": "--batchsize", "cache": "--cache", "plot_width": "--plot_width",
    "plots": "--plots",
}


def main() -> None:
    from ..interpret.attribution_outputs import attribute_regions
    from ..runs.models import resolve_model_dir

    output, overwrite = output_of(FLAGS)
    model_dir = resolve_model_dir(FLAGS.modeldir)
    attribute_regions(model_dir, FLAGS.inputdir, FLAGS.factor, FLAGS.bed, output,
                      FLAGS.genome, annotations_dir=FLAGS.gencode, methods=FLAGS.methods,
                      baseline=FLAGS.baseline, ig_steps=FLAGS.ig_steps, ig_rtol=FLAGS.ig_rtol,
                      batch_size=FLAGS.batchsize, cache=CACHE_CHOICES[FLAGS.cache],
                      overwrite=overwrite, plot_width=FLAGS.plot_width, plots=FLAGS.plots)


def entry_point() -> None:
    run(COMMAND, __doc__, FLAGS, main, SETTING_FLAGS)


if __name__ == "__main__":
    entry_point()
