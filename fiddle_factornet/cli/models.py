"""List the models we ship (models/: the original FactorNet's ENCODE-DREAM models, converted, and
the models trained on the demo data), and those of $FIDDLE_FACTORNET_MODELS: name, family, TFs,
variant, input tracks, input length, where each lives. A name is what -m takes in every command
that reads a model folder (ffn-predict -m HNF4A/onePeak_Unique35_DGF). --fetch_originals fetches
every other model the original published (data_manifest.txt, group factornet-models: the files
conversion reads, checked against the manifest's size and md5) and converts each into the models
folder, with its card; models already there are skipped.

--check_inputs DIR writes the seeded synthetic cell type the original models are checked on.

example:
    ffn-models --json
    ffn-models --fetch_originals -o data
    ffn-models --check_inputs synthetic   # cell/, genome.fa, blacklist.bed, annotations/
"""

from __future__ import annotations

import json
import sys

from absl import flags

from . import UsageError, flag_label, run

COMMAND = "ffn-models"
FLAGS = flags.FlagValues()
flags.DEFINE_bool("json", False, "Print the list as JSON (one object a model).",
                  flag_values=FLAGS)
flags.DEFINE_bool("fetch_originals", False, "Fetch the original FactorNet's other published "
                  "models and convert each into the models folder.", flag_values=FLAGS)
flags.DEFINE_string("check_inputs", None, "Write the seeded synthetic cell type that the original "
                    "models are checked on (cell/ with the Unique35 and DGF tracks and the 8 meta "
                    "features, genome.fa, blacklist.bed, bins.bed, annotations/) into this new "
                    "folder, and exit.", flag_values=FLAGS)
flags.DEFINE_string("models_dir", None, "Models folder the fetched models are converted into "
                    "(default: the first folder of $FIDDLE_FACTORNET_MODELS, else the checkout's "
                    "models/).", flag_values=FLAGS)
flags.DEFINE_string("output", "data", "Folder the original files are downloaded into, as ffn-fetch "
                    "-o (the manifest's destinations are relative to it). A file there that does "
                    "not match the manifest is reported and left alone.", short_name="o",
                    flag_values=FLAGS)
flags.DEFINE_string("output_replace", None, "As -o, but files there that do not match the "
                    "manifest are fetched again and replaced.", short_name="oc",
                    flag_values=FLAGS)
flags.DEFINE_string("manifest", None, "Manifest to read when fetching (default: "
                    "data_manifest.txt of the source checkout).", flag_values=FLAGS)
flags.DEFINE_bool("progress", True, "Progress bars while fetching (shown on a terminal only).",
                  flag_values=FLAGS)

#: library parameter -> flag, for the library's one-line errors
SETTING_FLAGS = {"manifest": "--manifest", "overwrite": "-oc", "models_dir": "--models_dir",
                 "out_dir": "--check_inputs"}
#: the record of a --fetch_originals run, in the download folder (-o)
RECORD_NAME = "ffn-models.run.json"


def _shown(values: list[str], most: int = 3) -> str:
    if not values:
        return "-"
    return ",".join(values) if len(values) <= most else \
        f"{','.join(values[:most])},... ({len(values)})"


def table(rows: list[dict]) -> str:
    """The listing: one aligned line a model."""
    header = ("name", "family", "TFs", "variant", "tracks", "L", "source", "folder")
    lines = [header] + [(row["name"], row["family"], _shown(row["tfs"]), row["variant"] or "-",
                         _shown(row["tracks"], 5), str(row["input_length"] or "-"),
                         row["source"], row["path"]) for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    return "".join("  ".join(f"{field:<{width}}" for field, width in zip(line, widths))
                   + f"  {line[-1]}\n" for line in lines)


#: the flags of --fetch_originals
FETCH_FLAGS = ("models_dir", "output", "output_replace", "manifest")


def check() -> None:
    if FLAGS["output"].present and FLAGS.output_replace is not None:
        raise UsageError("give only one of -o/--output and -oc/--output_replace")
    given = [flag_label(FLAGS[name]) for name in FETCH_FLAGS if FLAGS[name].present]
    if given and not FLAGS.fetch_originals:
        raise UsageError(f"{given[0]} applies to --fetch_originals only")
    if FLAGS.json and FLAGS.fetch_originals:
        raise UsageError("--json lists the models: give it without --fetch_originals")
    if FLAGS.check_inputs is not None and (FLAGS.json or FLAGS.fetch_originals):
        raise UsageError("--check_inputs writes the check inputs only: give it alone")


def main() -> None:
    from pathlib import Path

    from ..runs.models import default_models_dir
    from ..runs.outputs import safe_output
    from ..runs.record import RunRecord, absolute
    from ..shipped import fetch_originals, list_models, write_original_check_inputs

    if FLAGS.check_inputs is not None:
        with safe_output(FLAGS.check_inputs) as tmp:
            write_original_check_inputs(tmp)
        return
    if not FLAGS.fetch_originals:
        rows = list_models()
        sys.stdout.write(json.dumps(rows, indent=1) + "\n" if FLAGS.json else table(rows))
        return
    models_dir = Path(FLAGS.models_dir) if FLAGS.models_dir else default_models_dir()
    root, overwrite = (FLAGS.output_replace, True) if FLAGS.output_replace is not None else \
        (FLAGS.output, False)
    record = RunRecord("fetch and convert the original models", {
        "manifest": absolute(FLAGS.manifest), "root": absolute(root), "overwrite": overwrite,
        "models_dir": absolute(models_dir)})
    summary = fetch_originals(FLAGS.manifest, root, models_dir, FLAGS.progress, overwrite)
    record.update(converted=summary.converted, skipped=summary.skipped, failed=summary.failed,
                  files_failed=[r.entry.name for r in summary.fetch.failed])
    Path(root).mkdir(parents=True, exist_ok=True)
    with safe_output(Path(root) / RECORD_NAME, overwrite=True) as tmp:
        tmp.write_text(record.text())
    sys.stdout.write(summary.text())
    if summary.failed or summary.fetch.failed:
        sys.stderr.write(f"{COMMAND}: error: {len(summary.failed)} models not converted "
                         "(see above)\n")
        sys.exit(1)


def entry_point() -> None:
    run(COMMAND, __doc__, FLAGS, main, SETTING_FLAGS, check=check)


if __name__ == "__main__":
    entry_point()
