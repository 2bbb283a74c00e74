"""Download the public data that data_manifest.txt lists (hg19, FactorNet's resources and models,
the ENCODE-DREAM cell types, FIDDLE's yeast data): resumable, checked against the manifest's size
and md5, written under a .partial name until complete. Files already in place and valid are
skipped; files behind a login (Synapse) or on web pages are listed with the way to get them.
Names and groups are given as arguments or with --get; `all` selects everything.

example:
    ffn-fetch --list
    ffn-fetch factornet-resources dream-HepG2 -o data
    ffn-fetch --get factornet-models,mappability -o data
"""

from __future__ import annotations

import sys

from absl import flags

from . import UsageError, define_int, run

COMMAND = "ffn-fetch"
FLAGS = flags.FlagValues()
flags.DEFINE_string("manifest", None, "Manifest to read (default: data_manifest.txt of the source "
                    "checkout this package runs from).", flag_values=FLAGS)
flags.DEFINE_list("get", [], "Names or groups to fetch, comma-separated (as are the arguments); "
                  "all: every entry.", flag_values=FLAGS)
flags.DEFINE_string("output", "data", "Folder that the manifest's destinations are relative to. "
                    "A file there that does not match the manifest is reported and left alone.",
                    short_name="o", flag_values=FLAGS)
flags.DEFINE_string("output_replace", None, "As -o, but files there that do not match the "
                    "manifest are fetched again and replaced.", short_name="oc",
                    flag_values=FLAGS)
flags.DEFINE_bool("list", False, "List the groups and entries (all, or those named) with their "
                  "sizes and status in the -o folder, and fetch nothing.", flag_values=FLAGS)
define_int("retries", 3, "Resumes tried when a connection breaks in the middle of a file.", FLAGS,
           minimum=0)
flags.DEFINE_bool("progress", True, "Progress bars (shown on a terminal only).", flag_values=FLAGS)

#: library parameter -> flag, for the library's one-line errors
SETTING_FLAGS = {"manifest": "--manifest", "overwrite": "-oc"}

RECORD_NAME = "ffn-fetch.run.json"


def names_as_get(args: list[str]) -> list[str]:
    """The command line with its arguments that are not flags (names and groups) moved into
    --get, merged with a --get already given."""
    known = FLAGS._flags()
    kept, names, get_at = [], [], None
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            names += args[i:]
            break
        if not arg.startswith("-") or arg == "-":
            names.append(arg)
            continue
        name, has_value, _ = arg.lstrip("-").partition("=")
        flag = known.get(name)
        if flag is not None and flag.name == "get":
            get_at = len(kept)
        kept.append(arg)
        if flag is not None and flag.flag_type() != "bool" and not has_value and i < len(args):
            kept.append(args[i])
            i += 1
    if not names:
        return kept
    if get_at is None:
        return [*kept, "--get", ",".join(names)]
    if "=" in kept[get_at]:
        kept[get_at] += "," + ",".join(names)
    else:
        kept[get_at + 1] += "," + ",".join(names)
    return kept


def check() -> None:
    if FLAGS["output"].present and FLAGS.output_replace is not None:
        raise UsageError("give only one of -o/--output and -oc/--output_replace")


def root_of() -> tuple[str, bool]:
    """The folder to fetch into and whether mismatching files there are replaced."""
    if FLAGS.output_replace is not None:
        return FLAGS.output_replace, True
    return FLAGS.output, False


def main() -> None:
    from pathlib import Path

    from ..data.fetch import (default_manifest, fetch_entries, listing, read_manifest,
                              select_entries)
    from ..runs.outputs import safe_output
    from ..runs.record import RunRecord, absolute

    manifest = FLAGS.manifest if FLAGS.manifest is not None else default_manifest()
    root, overwrite = root_of()
    entries = read_manifest(manifest)
    if FLAGS.list:
        chosen = select_entries(entries, FLAGS.get) if FLAGS.get else entries
        sys.stdout.write(listing(chosen, root))
        return
    chosen = select_entries(entries, FLAGS.get)
    record = RunRecord("fetch", {"manifest": absolute(manifest), "root": absolute(root),
                                 "get": list(FLAGS.get), "overwrite": overwrite,
                                 "retries": FLAGS.retries})
    summary = fetch_entries(chosen, root, progress=FLAGS.progress, overwrite=overwrite,
                            retries=FLAGS.retries)
    record.update(results=[{"name": r.entry.name, "status": r.status, "path": absolute(r.path),
                            "transferred": r.transferred, "message": r.message}
                           for r in summary.results])
    Path(root).mkdir(parents=True, exist_ok=True)
    with safe_output(Path(root) / RECORD_NAME, overwrite=True) as tmp:
        tmp.write_text(record.text())
    sys.stdout.write(summary.text(SETTING_FLAGS))
    if summary.failed:
        sys.stderr.write(f"{COMMAND}: error: {len(summary.failed)} of {len(chosen)} files "
                         "failed (see above)\n")
        sys.exit(1)


def entry_point(argv: list[str] | None = None) -> None:
    run(COMMAND, __doc__, FLAGS, main, SETTING_FLAGS, check=check,
        argv=names_as_get(sys.argv[1:] if argv is None else list(argv)))


if __name__ == "__main__":
    entry_point()
