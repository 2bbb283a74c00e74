"""Convert one of the original FactorNet's published models (Keras 1.1.1, Theano) into a model
folder that ffn-predict reads like any other.

example:
    ffn-convert -i FactorNet/models/HNF4A/onePeak_Unique35_DGF -o models/HNF4A_original
"""

from __future__ import annotations

from absl import flags

from . import define_choice, define_output, output_of, require, run

COMMAND = "ffn-convert"
FLAGS = flags.FlagValues()
flags.DEFINE_string("originaldir", None, "Original FactorNet model folder (model.json, "
                    "best_model.hdf5, chip.txt, ...).", short_name="i", flag_values=FLAGS)
define_output(FLAGS, "Model folder to write.")
# the keys of fiddle_factornet.factornet.convert.WEIGHT_FILES (not imported: it loads Keras)
define_choice("weights", "best", ["best", "final"], "Weights to convert: best (best_model.hdf5) "
              "or final (final_model.hdf5).", FLAGS)
require(FLAGS, "originaldir")

#: library parameter -> flag, for the library's one-line errors
SETTING_FLAGS = {"src_dir": "-i", "out_dir": "-o", "overwrite": "-oc", "weights": "--weights"}


def main() -> None:
    from ..factornet.convert import convert_original

    output, overwrite = output_of(FLAGS)
    convert_original(FLAGS.originaldir, output, weights=FLAGS.weights, overwrite=overwrite)


def entry_point() -> None:
    run(COMMAND, __doc__, FLAGS, main, SETTING_FLAGS)


if __name__ == "__main__":
    entry_point()
