"""Generate the built-in demo dataset: a small synthetic genome with three FactorNet cell types
(ChIP-seq peaks, DNase tracks, meta features, labels) and FIDDLE's gene starts and tracks. The
same seed gives the same files.

example:
    ffn-demo -o demo
"""

from __future__ import annotations

from absl import flags

from . import define_float, define_int, define_output, output_of, run

COMMAND = "ffn-demo"
FLAGS = flags.FlagValues()
define_output(FLAGS, "Folder to write the dataset to.")
define_int("seed", 0, "Random seed; the same seed gives the same files.", FLAGS, short_name="s",
           minimum=0)
define_float("scale", 1.0, "Multiply every chromosome length by this.", FLAGS, above=0)

#: library parameter -> flag, for the library's one-line errors
SETTING_FLAGS = {"out_dir": "-o", "overwrite": "-oc", "seed": "-s", "chrom_sizes": "--scale"}


def main() -> None:
    from ..demo import DemoConfig, make_demo

    output, overwrite = output_of(FLAGS)
    sizes = tuple((name, int(length * FLAGS.scale)) for name, length in DemoConfig.chrom_sizes)
    make_demo(output, DemoConfig(seed=FLAGS.seed, chrom_sizes=sizes), overwrite)


def entry_point() -> None:
    run(COMMAND, __doc__, FLAGS, main, SETTING_FLAGS)


if __name__ == "__main__":
    entry_point()
