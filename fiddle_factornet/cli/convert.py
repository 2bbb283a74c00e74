"""Convert one of the original FactorNet's published models (Keras 1.1.1, Theano) into a model
folder that ``ffn-predict`` reads:

    ffn-convert -i models/HNF4A/onePeak_Unique35_DGF -o converted/HNF4A [--weights final] [-oc]
"""

from __future__ import annotations

from absl import flags

from . import run
from ..factornet.convert import WEIGHT_FILES, convert_original

FLAGS = flags.FLAGS
flags.DEFINE_string("inputdir", None, "Original FactorNet model folder (model.json, "
                    "best_model.hdf5, chip.txt, ...).", short_name="i")
flags.DEFINE_string("outputdir", None, "Model folder to write.", short_name="o")
flags.DEFINE_enum("weights", "best", list(WEIGHT_FILES), "Weights to convert: best_model.hdf5 or "
                  "final_model.hdf5.")
flags.DEFINE_boolean("overwrite", False, "Replace an existing output folder.", short_name="oc")
flags.mark_flags_as_required(["inputdir", "outputdir"])


def main(argv: list[str]) -> None:
    convert_original(FLAGS.inputdir, FLAGS.outputdir, weights=FLAGS.weights,
                     overwrite=FLAGS.overwrite)


def entry_point() -> None:
    run(main)


if __name__ == "__main__":
    entry_point()
