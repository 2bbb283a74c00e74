"""Write an experiment's results from its run folder: results.tsv, results.md (the paper's figures
beside ours), its plots and run.json. The experiment scripts (experiments/<paper>/<name>.sh) end
with this command; run it again to remake the table from a finished run.

example:
    ffn-experiment-report -x fiddle/tss-study -o results/fiddle/tss-study
    ffn-experiment-report -x fiddle/tss-study -oc results/fiddle/tss-study   # remake the table
"""

from __future__ import annotations

from absl import flags

from . import define_choice, define_output, output_of, require, run

COMMAND = "ffn-experiment-report"
FLAGS = flags.FlagValues()
flags.DEFINE_string("experiment", None, "The experiment: <paper>/<name>, e.g. "
                    "factornet/challenge.", short_name="x", flag_values=FLAGS)
define_output(FLAGS, "The experiment's run folder (its script's -o), to write results.tsv, "
              "results.md, the plots and run.json into.", name="run_dir",
              replace_name="run_dir_replace", refused="Refused if it holds results already.")
# fiddle_factornet.experiments.results.MODES (not imported: it loads pandas)
define_choice("mode", "full", ["demo", "full"], "The mode the run was made in.", FLAGS)
require(FLAGS, "experiment")

#: library parameter -> flag, for the library's one-line errors
SETTING_FLAGS = {"experiment": "-x", "run_dir": "-o", "overwrite": "-oc", "mode": "--mode"}


def main() -> None:
    from ..experiments.results import markdown_table, write_results

    run_dir, overwrite = output_of(FLAGS)
    results = write_results(FLAGS.experiment, run_dir, FLAGS.mode, overwrite=overwrite)
    print(f"{results.title}\n\n{markdown_table(results.table)}")


def entry_point() -> None:
    run(COMMAND, __doc__, FLAGS, main, SETTING_FLAGS)


if __name__ == "__main__":
    entry_point()
