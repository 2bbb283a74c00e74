"""Every installed command explains itself: --help lists its own flags (and no absl ones) within
2 s, without loading TensorFlow; bad flags are one line on stderr and exit 2. Nothing here trains.
"""

import importlib
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fiddle_factornet.cli import (IntListParser, UsageError, command_flags, parse_flags,
                                  required_flags, run)
from fiddle_factornet.errors import InputError

BIN = Path(__file__).resolve().parents[1] / "bin"
#: each Python command of bin/ -> its module in fiddle_factornet.cli
MODULES = {
    "ffn-attribute": "attribute", "ffn-bag": "bag", "ffn-convert": "convert", "ffn-demo": "demo",
    "ffn-evaluate": "evaluate", "ffn-experiment-report": "experiment_report", "ffn-fetch": "fetch",
    "ffn-merge-shards": "merge_shards",
    "ffn-fiddle-attribute": "fiddle_attribute",
    "ffn-fiddle-evaluate": "fiddle_evaluate", "ffn-fiddle-importance": "fiddle_importance",
    "ffn-fiddle-predict": "fiddle_predict",
    "ffn-fiddle-train": "fiddle_train", "ffn-labels": "labels", "ffn-models": "models",
    "ffn-motifs": "motifs",
    "ffn-predict": "factornet_predict", "ffn-train": "factornet_train",
}
WORKFLOWS = ("ffn-factornet-demo",)  # bash scripts
SHELL_TOOLS = ("ffn-dnase-bigwig",)  # bash, tested in test_fetch.py
ABSL_FLAGS = ("--verbosity", "--helpfull", "--helpshort", "--flagfile", "--logtostderr",
              "--alsologtostderr", "--log_dir", "--undefok", "--only_check_args")
HELP_SECONDS = 2.0


def module(command):
    return importlib.import_module(f"fiddle_factornet.cli.{MODULES[command]}")


def command_line(command, *args):
    script = BIN / command
    interpreter = ["bash"] if command in WORKFLOWS else [sys.executable]
    return [*interpreter, str(script), *map(str, args)]


def call(command, *args, cwd=None):
    return subprocess.run(command_line(command, *args), capture_output=True, text=True, cwd=cwd)


def timed_help(command, cwd):
    """``command --help`` and its wall-clock time; a slow first run (cold caches) gets one more."""
    for attempt in range(2):
        start = time.perf_counter()
        result = call(command, "--help", cwd=cwd)
        seconds = time.perf_counter() - start
        if seconds < HELP_SECONDS:
            break
    return result, seconds


def mentions(text, name):
    """Whether ``name`` (e.g. ``-o`` or ``--epochs``) stands as a whole word in ``text``."""
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None


def flag_entries(help_text):
    """The flags section of --help: each entry's text (names line and wrapped help lines)."""
    section = help_text.split("\nflags:\n", 1)[1]
    entries = []
    for line in section.splitlines():
        if re.match(r"  (-|    --)", line):  # "  -e, --epochs N ..." or "      --genome ..."
            entries.append(line)
        elif entries:
            entries[-1] += "\n" + line
    return entries


def one_line_error(result, command):
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{command}: error: "), lines[0]
    return lines[0]


def test_every_installed_command_is_covered():
    assert sorted(p.name for p in BIN.iterdir()) == sorted([*MODULES, *WORKFLOWS, *SHELL_TOOLS])
    for command, name in MODULES.items():
        assert f"fiddle_factornet.cli.{name} import entry_point" in (BIN / command).read_text()
        assert module(command).COMMAND == command


@pytest.mark.parametrize("command", sorted(MODULES))
def test_help_lists_the_commands_own_flags_fast(command, tmp_path):
    result, seconds = timed_help(command, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert seconds < HELP_SECONDS, f"{command} --help took {seconds:.2f} s"
    text = result.stdout
    assert text.startswith(f"usage: {command} ")
    assert "example:" in text and f"    {command} -" in text  # the worked example
    assert module(command).__doc__.split("\n", 1)[0] in text  # the purpose
    defined = command_flags(module(command).FLAGS)
    assert defined
    entries = flag_entries(text)
    for flag in defined:
        entry = [e for e in entries if mentions(e.split("\n", 1)[0], f"--{flag.name}")]
        assert len(entry) == 1, (flag.name, entries)
        if flag.short_name:
            assert mentions(entry[0].split("\n", 1)[0], f"-{flag.short_name}"), entry[0]
        assert " ".join(flag.help.split()[:3]) in " ".join(entry[0].split())
        if flag.name in required_flags(module(command).FLAGS):
            assert "(required)" in " ".join(entry[0].split())
        elif flag.default not in (None, [], ()) and flag.flag_type() != "bool":
            assert "(default: " in " ".join(entry[0].split())
    assert len(entries) == len(defined) + 1  # and -h, --help
    for absl_flag in ABSL_FLAGS:
        assert absl_flag not in text
    assert len([e for e in entries if mentions(e.split("\n", 1)[0], "-v")]) <= 1  # absl's -v
    assert result.stderr == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", sorted(MODULES))
def test_help_and_flag_errors_load_no_tensorflow(command):
    code = ("import runpy, sys\n"
            f"sys.argv = [{str(BIN / command)!r}, sys.argv[1]]\n"
            "try:\n"
            f"    runpy.run_path({str(BIN / command)!r}, run_name='__main__')\n"
            "except SystemExit:\n"
            "    pass\n"
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras'})\n"
            "sys.stderr.write(f'HEAVY {heavy}\\n')\n")
    for arg in ("--help", "--no_such_flag"):
        result = subprocess.run([sys.executable, "-c", code, arg], capture_output=True, text=True)
        assert "HEAVY []" in result.stderr, (arg, result.stderr[-2000:])


@pytest.mark.parametrize("command", WORKFLOWS)
def test_workflow_scripts_help_and_bad_arguments(command, tmp_path):
    result, seconds = timed_help(command, tmp_path)
    assert result.returncode == 0 and seconds < HELP_SECONDS
    assert result.stdout.startswith(f"usage: {command} [DEMO_DIR]")
    assert "example:" in result.stdout and "DEMO_DIR" in result.stdout
    assert call(command, "-h", cwd=tmp_path).stdout == result.stdout
    assert list(tmp_path.iterdir()) == []  # no side effect (it once ran mkdir --help/runs/fiddle)
    assert "unknown flag --overwrite" in one_line_error(call(command, "--overwrite", cwd=tmp_path),
                                                        command)
    assert "unknown flag -oc" in one_line_error(call(command, "demo", "-oc", cwd=tmp_path), command)
    assert "'three'" in one_line_error(call(command, "one", "two", "three", cwd=tmp_path), command)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", WORKFLOWS)
def test_workflow_scripts_call_commands_beside_them(command):
    """Through "$bin/ffn-..." (the folder the script lives in), so that they run without the
    virtualenv's bin on PATH."""
    code = re.sub(r'usage="[^"]*"', "", (BIN / command).read_text())
    code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith("#"))
    calls = [m.start() for m in re.finditer(r"ffn-[a-z-]+", code)]
    assert len(calls) >= 3
    for at in calls:
        assert code[at - 5:at] == "$bin/" or code[at - 5:at] == "name=", code[at - 20:at + 20]


TRAIN = ["-i", "a,b", "--genome", "g.fa"]
FIDDLE = ["--manifest", "tracks.tsv", "--genes", "genes.bed"]


@pytest.mark.parametrize("command, args, expected", [
    ("ffn-fiddle-train", [*FIDDLE, "-o", "m", "--module_filters", "a,b"],
     ["'a,b'", "--module_filters", "positive integers"]),
    ("ffn-fiddle-train", [*FIDDLE, "-o", "m", "--module_filters", "16,0"], ["'16,0'"]),
    ("ffn-fiddle-train", [*FIDDLE, "-o", "m", "--window_step", "0"], ["'0'", "--window_step"]),
    ("ffn-fiddle-train", [*FIDDLE, "-o", "m", "--split", "random"], ["'random'", "--split"]),
    ("ffn-fiddle-train", [*FIDDLE, "-o", "m", "--n_test", "0"], ["'0'", "--n_test"]),
    ("ffn-train", [*TRAIN, "-o", "m", "--batchsize", "0"], ["'0'", "--batchsize", ">= 1"]),
    ("ffn-train", [*TRAIN, "-o", "m", "-e", "0"], ["'0'", "-e/--epochs"]),
    ("ffn-train", [*TRAIN, "-o", "m", "-n", "0"], ["'0'", "-n/--negatives"]),
    ("ffn-train", [*TRAIN, "-o", "m", "-k", "0"], ["'0'", "-k/--kernels"]),
    ("ffn-train", [*TRAIN, "-o", "m", "-d", "0"], ["'0'", "-d/--dense"]),
    ("ffn-train", [*TRAIN, "-o", "m", "-L", "0"], ["'0'", "-L/--seqlen"]),
    ("ffn-train", [*TRAIN, "-o", "m", "-w", "0"], ["'0'", "-w/--motifwidth"]),
    ("ffn-train", [*TRAIN, "-o", "m", "-ep", "-1"], ["'-1'", "-ep/--patience", ">= 0"]),
    ("ffn-train", [*TRAIN, "-o", "m", "-p", "1"], ["'1'", "-p/--dropout", "[0, 1)"]),
    ("ffn-train", [*TRAIN, "-o", "m", "-lr", "0"], ["'0'", "-lr/--learningrate", "> 0"]),
    ("ffn-train", [*TRAIN, "-o", "m", "-e", "ten"], ["'ten'", "-e/--epochs"]),
    ("ffn-train", [*TRAIN, "-o", "m", "--cache", "maybe"], ["'maybe'", "--cache", "auto"]),
    ("ffn-train", [*TRAIN, "-o", "m", "--meta=3"], ["'3'", "-m/--meta"]),
    ("ffn-train", [*TRAIN, "-o", "m", "-e"], ["-e/--epochs needs a value"]),
    ("ffn-train", TRAIN, ["-o/--outputdir", "-oc/--outputdirc"]),
    ("ffn-train", [*TRAIN, "-o", "m", "-oc", "m"], ["only one of", "-o/--outputdir"]),
    ("ffn-train", ["-o", "m"], ["missing required flags -i/--inputdirs, --genome"]),
    ("ffn-train", [*TRAIN, "-o", "m", "--verbosity", "1"], ["unknown flag --verbosity"]),
    ("ffn-train", [*TRAIN, "-o", "m", "--flagfile=args.txt"], ["unknown flag --flagfile"]),
    ("ffn-train", [*TRAIN, "-o", "m", "extra"], ["unexpected argument 'extra'"]),
    ("ffn-predict", ["-i", "c", "-m", "m", "-f", "CTCF", "-b", "r.bed", "--genome", "g.fa",
                     "-o", "p.gz", "--outputfile", "q.gz"], ["unknown flag --outputfile"]),
    ("ffn-predict", ["-o", "p.gz"], ["missing required flags", "-m/--modeldir"]),
    ("ffn-labels", ["-i", "A", "--genome", "g", "-c", "chr1", "-o", "l.gz"], ["unknown flag -c"]),
    ("ffn-labels", ["-i", "A", "--genome", "g", "-o", "l.gz", "--", "x"], ["unexpected argument"]),
    ("ffn-bag", ["-i", "a,b", "-o", "x.gz", "-oc", "y.gz"], ["only one of", "-oc/--output_replace"]),
    ("ffn-bag", ["-i", "a,b"], ["-o/--output PATH", "-oc/--output_replace PATH"]),
    ("ffn-evaluate", ["-i", "p.gz", "-l", "l.gz", "-o", "s", "-oc", "t"], ["only one of"]),
    ("ffn-evaluate", ["-p", "p.gz", "-l", "l.gz"], ["unknown flag -p"]),
    ("ffn-convert", ["-i", "orig", "-o", "m", "--weights", "middle"], ["'middle'", "--weights"]),
    ("ffn-demo", ["-o", "demo", "--scale", "0"], ["'0'", "--scale", "> 0"]),
    ("ffn-demo", ["-o", "demo", "-s", "-1"], ["'-1'", "-s/--seed"]),
    ("ffn-demo", ["-o", "demo", "-oc"], ["-oc/--output_replace needs a value"]),
    ("ffn-fiddle-evaluate", [], ["-m/--modeldir", "--compare"]),
    ("ffn-fiddle-evaluate", ["-m", "m", "--compare", "a=b.json"], ["--compare alone"]),
    ("ffn-fiddle-evaluate", ["--compare", "a.json"], ["'a.json'", "--compare"]),
    ("ffn-fiddle-evaluate", ["-m", "m", "-o", "e", "--batchsize", "0"], ["'0'", "--batchsize"]),
    ("ffn-fiddle-importance", ["-m", "m"], ["-o/--output PATH"]),
])
def test_bad_flags_are_one_line_and_exit_2(command, args, expected, tmp_path):
    line = one_line_error(call(command, *args, cwd=tmp_path), command)
    for part in expected:
        assert part in line, line
    assert list(tmp_path.iterdir()) == []


def test_module_filters_become_a_tuple_of_ints():
    fiddle_train = module("ffn-fiddle-train")
    parse_flags(fiddle_train.FLAGS, [*FIDDLE, "-oc", "m", "--module_filters", "16, 8"])
    assert fiddle_train.FLAGS.module_filters == (16, 8)
    assert (fiddle_train.FLAGS.output, fiddle_train.FLAGS.output_replace) == (None, "m")
    parse_flags(fiddle_train.FLAGS, [*FIDDLE, "-o", "m"])
    assert fiddle_train.FLAGS.module_filters == (80, 40) and fiddle_train.FLAGS.output == "m"
    with pytest.raises(ValueError, match="comma-separated list of positive integers"):
        IntListParser().parse("")


@pytest.mark.parametrize("command", sorted(MODULES))
def test_setting_flags_name_the_commands_flags(command):
    names = set()
    for flag in command_flags(module(command).FLAGS):
        names |= {f"--{flag.name}", *([f"-{flag.short_name}"] if flag.short_name else [])}
    settings = module(command).SETTING_FLAGS
    named = {flag for value in settings.values() for flag in value.split(", ")}
    assert named <= names, named - names
    assert settings["overwrite"] == "-oc"


def test_a_flag_means_the_same_in_every_command():
    long_of_short, short_of_long = {}, {}
    for command in MODULES:
        for flag in command_flags(module(command).FLAGS):
            short_of_long.setdefault(flag.name, set()).add(flag.short_name)
            if flag.short_name:
                long_of_short.setdefault(flag.short_name, set()).add(flag.name)
    assert all(len(shorts) == 1 for shorts in short_of_long.values()), short_of_long
    # -i names each command's input; -m is the original's meta in ffn-train and model folder in
    # ffn-predict; ffn-train keeps the original's --outputdir / --outputdirc; ffn-experiment-report
    # writes into a run folder
    exceptions = {"i", "m", "o", "oc"}
    assert {s: n for s, n in long_of_short.items() if len(n) > 1 and s not in exceptions} == {}
    assert long_of_short["m"] == {"meta", "modeldir"}
    assert long_of_short["o"] == {"outputdir", "output", "run_dir"}
    assert long_of_short["oc"] == {"outputdirc", "output_replace", "run_dir_replace"}
    assert long_of_short["c"] == {"cell_type"} and "chroms" in short_of_long
    assert short_of_long["chroms"] == {None}


def fake_command(tmp_path, error):
    from absl import flags

    flag_values = flags.FlagValues()
    flags.DEFINE_string("output", None, "Output.", short_name="o", flag_values=flag_values)

    def main():
        raise error

    return lambda: run("ffn-fake", "A fake command.", flag_values, main,
                       {"overwrite": "-oc", "motif_db": "-mo"}, argv=["-o", str(tmp_path / "x")])


@pytest.mark.parametrize("error, code, line", [
    (InputError("x: output exists", setting="overwrite"), 2,
     "ffn-fake: error: x: output exists (see -oc)"),
    (InputError("no motif", setting="unmapped"), 2, "ffn-fake: error: no motif"),
    (InputError("plain"), 2, "ffn-fake: error: plain"),
    (KeyboardInterrupt(), 130, "ffn-fake: interrupted"),
    (PermissionError(13, "Permission denied", "/ro/out"), 1,
     "ffn-fake: error: /ro/out: Permission denied"),
    (OSError(28, "No space left on device"), 1, "ffn-fake: error: No space left on device"),
])
def test_the_runner_answers_errors_in_one_line(error, code, line, tmp_path, capsys,
                                                runner_state):
    with pytest.raises(SystemExit) as exit_:
        fake_command(tmp_path, error)()
    assert exit_.value.code == code
    assert capsys.readouterr().err == line + "\n"


def test_a_bug_keeps_its_traceback(tmp_path, runner_state):
    with pytest.raises(ZeroDivisionError):
        fake_command(tmp_path, ZeroDivisionError("bug"))()


def test_usage_errors_come_from_check(tmp_path, capsys, runner_state):
    from absl import flags

    flag_values = flags.FlagValues()

    def check():
        raise UsageError("give -m or --compare")

    with pytest.raises(SystemExit) as exit_:
        run("ffn-fake", None, flag_values, lambda: None, check=check, argv=[])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == "ffn-fake: error: give -m or --compare\n"
