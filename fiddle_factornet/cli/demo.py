"""Generate the built-in demo dataset: ``ffn-demo -o demo``."""

from __future__ import annotations

from absl import flags

from . import run
from ..demo import DemoConfig, make_demo

FLAGS = flags.FLAGS
flags.DEFINE_string("output", "demo", "Folder to write the dataset to.", short_name="o")
flags.DEFINE_integer("seed", DemoConfig.seed, "Random seed; the same seed gives the same files.",
                     short_name="s")
flags.DEFINE_float("scale", 1.0, "Multiply every chromosome length by this.")
flags.DEFINE_boolean("overwrite", False, "Replace an existing output folder.", short_name="oc")


def main(argv: list[str]) -> None:
    sizes = tuple((name, int(length * FLAGS.scale)) for name, length in DemoConfig.chrom_sizes)
    make_demo(FLAGS.output, DemoConfig(seed=FLAGS.seed, chrom_sizes=sizes), FLAGS.overwrite)


def entry_point() -> None:
    run(main)


if __name__ == "__main__":
    entry_point()
