"""Bag ENCODE-DREAM submissions of the same regions by averaging their ranks.

    ffn-bag -i F.CTCF.liver.1.tab.gz,F.CTCF.liver.2.tab.gz -o F.CTCF.liver.tab.gz
"""

from __future__ import annotations

import json
from pathlib import Path

from absl import flags

from . import run
from ..factornet.evaluation import bag_submissions
from ..data.files import atomic_output

FLAGS = flags.FLAGS
flags.DEFINE_list("input_files", None, "Submission files of the same rows (comma-separated).",
                  short_name="i")
flags.DEFINE_string("output", None, "The bagged submission (.gz); rows in the first file's order.",
                    short_name="o")
flags.DEFINE_boolean("overwrite", False, "Replace an existing output.", short_name="oc")
flags.mark_flags_as_required(["input_files", "output"])
FLAG_NAMES = ("input_files", "output", "overwrite")


def main(argv: list[str]) -> None:
    bag_submissions(FLAGS.input_files, FLAGS.output, FLAGS.overwrite)
    output = Path(FLAGS.output)
    with atomic_output(output.parent / f"{output.name}.args.json", overwrite=True) as tmp:
        tmp.write_text(json.dumps({name: FLAGS[name].value for name in FLAG_NAMES}, indent=1))


def entry_point() -> None:
    run(main)


if __name__ == "__main__":
    entry_point()
