"""Command-line entry points: thin wrappers that parse their flags and call the library.

Each command module defines its own ``FLAGS = flags.FlagValues()`` (absl-py flag objects, never
absl's global ``flags.FLAGS``), a docstring that states its purpose with a worked example, a
``main()`` that imports the library lazily (so that ``--help`` and flag errors never wait for
TensorFlow), and ``SETTING_FLAGS``: library parameter name -> the command's flag, used to point a
library :class:`~fiddle_factornet.errors.InputError` at the flag to change. :func:`run` does the
rest: ``--help``, parsing, one-line errors, logging, SIGTERM.

Exit codes: 0 done; 1 an operating-system error (missing permission, full disk, ...); 2 bad
flags or bad input; 130 interrupted (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import difflib
import logging
import shutil
import signal
import sys
import textwrap
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from absl import flags

from ..errors import InputError

#: the --cache flag's values -> the ``cache`` argument of Genome and TrackSet
CACHE_CHOICES = {"true": True, "false": False, "auto": "auto"}
CACHE_HELP = ("Memory-mapped genome and track caches: true builds and uses them, false never "
              "uses them, auto uses existing ones only.")

HELP_ARGS = ("-h", "--help", "-help")


class UsageError(Exception):
    """Bad command line: printed as one line, exit 2."""


# ---------------------------------------------------------------------------------------------
# value parsers: each raises ValueError with the end of a one-line message ("must be ...")


class IntegerParser(flags.ArgumentParser):
    """An integer, at least ``minimum`` when given."""

    def __init__(self, minimum: int | None = None):
        self.minimum = minimum

    def parse(self, argument):
        if isinstance(argument, int) and not isinstance(argument, bool):
            value = argument
        else:
            try:
                value = int(str(argument).strip(), 10)
            except ValueError:
                raise ValueError(self.requirement()) from None
        if self.minimum is not None and value < self.minimum:
            raise ValueError(self.requirement())
        return value

    def requirement(self) -> str:
        return "must be an integer" + ("" if self.minimum is None else f" >= {self.minimum}")

    def flag_type(self) -> str:
        return "int"


class FloatParser(flags.ArgumentParser):
    """A number in an interval; ``above`` / ``below`` are exclusive bounds, ``minimum`` inclusive."""

    def __init__(self, minimum: float | None = None, above: float | None = None,
                 below: float | None = None):
        self.minimum, self.above, self.below = minimum, above, below

    def parse(self, argument):
        try:
            value = float(argument)
        except (TypeError, ValueError):
            raise ValueError(self.requirement()) from None
        if value != value or (self.minimum is not None and value < self.minimum) or \
                (self.above is not None and value <= self.above) or \
                (self.below is not None and value >= self.below):
            raise ValueError(self.requirement())
        return value

    def requirement(self) -> str:
        low = self.minimum if self.minimum is not None else self.above
        if low is not None and self.below is not None:
            return f"must be a number in {'[' if self.minimum is not None else '('}{low:g}, " \
                   f"{self.below:g})"
        if low is not None:
            return f"must be a number {'>=' if self.minimum is not None else '>'} {low:g}"
        if self.below is not None:
            return f"must be a number < {self.below:g}"
        return "must be a number"

    def flag_type(self) -> str:
        return "float"


class ChoiceParser(flags.ArgumentParser):
    """One of a fixed list of strings."""

    def __init__(self, choices: tuple[str, ...]):
        self.choices = tuple(choices)

    def parse(self, argument):
        if argument not in self.choices:
            raise ValueError(f"must be one of {', '.join(self.choices)}")
        return argument

    def flag_type(self) -> str:
        return "enum"


class IntListParser(flags.ArgumentParser):
    """A comma-separated list of integers >= ``minimum``: a tuple of ints."""

    def __init__(self, minimum: int = 1):
        self.minimum = minimum

    def parse(self, argument):
        items = argument if isinstance(argument, (list, tuple)) else str(argument).split(",")
        try:
            values = tuple(int(str(item).strip(), 10) for item in items)
        except ValueError:
            raise ValueError(self.requirement()) from None
        if not values or any(value < self.minimum for value in values):
            raise ValueError(self.requirement())
        return values

    def requirement(self) -> str:
        kind = "positive integers" if self.minimum == 1 else f"integers >= {self.minimum}"
        return f"must be a comma-separated list of {kind}"

    def flag_type(self) -> str:
        return "int list"


def define_int(name: str, default: int | None, help: str, flag_values: flags.FlagValues,
               short_name: str | None = None, minimum: int | None = None) -> None:
    """An integer flag; a value below ``minimum`` is a one-line error."""
    flags.DEFINE(IntegerParser(minimum), name, default, help, flag_values=flag_values,
                 short_name=short_name)


def define_float(name: str, default: float | None, help: str, flag_values: flags.FlagValues,
                 short_name: str | None = None, minimum: float | None = None,
                 above: float | None = None, below: float | None = None) -> None:
    """A number flag: ``minimum`` <= value, ``above`` < value, value < ``below``."""
    flags.DEFINE(FloatParser(minimum, above, below), name, default, help, flag_values=flag_values,
                 short_name=short_name)


def define_choice(name: str, default: str, choices: Iterable[str], help: str,
                  flag_values: flags.FlagValues, short_name: str | None = None) -> None:
    """A flag taking one of ``choices``."""
    flags.DEFINE(ChoiceParser(tuple(choices)), name, default, help, flag_values=flag_values,
                 short_name=short_name)


def define_int_list(name: str, default: str, help: str, flag_values: flags.FlagValues,
                    short_name: str | None = None, minimum: int = 1) -> None:
    """A comma-separated list of integers: the value is a tuple of ints."""
    flags.DEFINE(IntListParser(minimum), name, default, help, flag_values=flag_values,
                 serializer=flags.CsvListSerializer(","), short_name=short_name)


# ---------------------------------------------------------------------------------------------
# what a command's flags declare beyond absl: required flags and the -o / -oc pair


@dataclass
class _Extras:
    required: list[str] = field(default_factory=list)
    output: tuple[str, str] | None = None  # names of the -o and -oc flags
    output_required: bool = True


_EXTRAS: dict[int, tuple[flags.FlagValues, _Extras]] = {}


def _extras(flag_values: flags.FlagValues) -> _Extras:
    return _EXTRAS.setdefault(id(flag_values), (flag_values, _Extras()))[1]


def require(flag_values: flags.FlagValues, *names: str) -> None:
    """Mark flags as required: missing ones are a one-line error; --help says ``(required)``."""
    for name in names:
        flag_values[name]  # noqa: B018 -- a KeyError for a name that is not defined
        _extras(flag_values).required.append(name)


def define_output(flag_values: flags.FlagValues, what: str, name: str = "output",
                  replace_name: str = "output_replace", required: bool = True,
                  refused: str = "Refused if it exists.") -> None:
    """``-o PATH`` (a new output, ``refused`` if it exists) and ``-oc PATH`` (the same, replacing
    an existing one). With ``required`` exactly one must be given, else at most one."""
    flags.DEFINE_string(name, None, f"{what} {refused}", flag_values=flag_values,
                        short_name="o")
    flags.DEFINE_string(replace_name, None, "As -o, but replaces an existing output.",
                        flag_values=flag_values, short_name="oc")
    extras = _extras(flag_values)
    extras.output, extras.output_required = (name, replace_name), required


def required_flags(flag_values: flags.FlagValues) -> list[str]:
    """Names of the flags marked by :func:`require`."""
    return list(_extras(flag_values).required)


def output_of(flag_values: flags.FlagValues) -> tuple[str | None, bool]:
    """The output path given by -o or -oc (None when neither) and whether it may be replaced."""
    new, replace = _extras(flag_values).output
    if flag_values[replace].value is not None:
        return flag_values[replace].value, True
    return flag_values[new].value, False


def command_flags(flag_values: flags.FlagValues) -> list[flags.Flag]:
    """The command's flags, each once, in the order they were defined."""
    seen: dict[int, flags.Flag] = {}
    for flag in flag_values._flags().values():
        seen.setdefault(id(flag), flag)
    return list(seen.values())


def flag_label(flag: flags.Flag) -> str:
    """``-e/--epochs`` (or ``--genome``): how error messages name a flag."""
    return f"-{flag.short_name}/--{flag.name}" if flag.short_name else f"--{flag.name}"


# ---------------------------------------------------------------------------------------------
# --help


#: --help's placeholder for a flag's value, by flag name (a name means the same in every command)
METAVARS = {
    "inputdirs": "DIR,...", "validinputdirs": "DIR,...", "inputdir": "DIR", "modeldir": "DIR",
    "originaldir": "DIR", "gencode": "DIR", "reload": "DIR", "inputfiles": "FILE,...",
    "predictions": "FILE", "labels": "FILE", "genome": "FASTA", "blacklist": "BED", "bed": "BED",
    "regions": "BED", "genes": "FILE", "manifest": "TSV", "motif": "MEME", "factor": "TF",
    "cell_type": "NAME", "chroms": "CHR,...", "validchroms": "CHR,...", "testchroms": "CHR,...",
    "inputs": "TRACK,...", "target": "TRACK", "controls": "NAME,...", "reload_modules": "TRACK,...",
    "compare": "NAME=FILE,...", "bigwig": "PATH", "bedgraph": "PATH", "get": "NAME,...",
    "hdf5": "DIR|FILE,...", "models_dir": "DIR", "shard": "K/N", "devices": "N|all",
    "output": "DIR", "output_replace": "DIR",  # ffn-fetch's root (define_output's are PATH)
}


def _metavar(flag: flags.Flag, outputs: Iterable[str]) -> str:
    parser = flag.parser
    if isinstance(parser, ChoiceParser):
        return "{" + "|".join(parser.choices) + "}"
    if flag.name in outputs:
        return "PATH"
    if flag.name in METAVARS:
        return METAVARS[flag.name]
    return {"int": "N", "float": "X", "int list": "N,N,...", "list": "A,B,...",
            "comma separated list of strings": "A,B,..."}.get(flag.flag_type(), "VALUE")


def _default_text(flag: flags.Flag) -> str | None:
    default = flag.default
    if flag.flag_type() == "bool":
        text = "true" if default else "false"
        return f"{text}; --no{flag.name} turns it off" if default else text
    if default is None or (isinstance(default, (list, tuple)) and not default):
        return None
    if isinstance(default, (list, tuple)):
        return ",".join(map(str, default))
    return str(default)


def _names(flag: flags.Flag, outputs: Iterable[str]) -> str:
    names = f"-{flag.short_name}, --{flag.name}" if flag.short_name else f"    --{flag.name}"
    return names if flag.flag_type() == "bool" else f"{names} {_metavar(flag, outputs)}"


def help_text(command: str, doc: str | None, flag_values: flags.FlagValues) -> str:
    """``--help``: usage line, the docstring (purpose and example), then each flag's names,
    default and help, required ones marked ``(required)``."""
    extras = _extras(flag_values)
    outputs = extras.output or ()
    width = max(60, min(100, shutil.get_terminal_size((100, 24)).columns))
    usage = [command]
    for name in extras.required:
        flag = flag_values[name]
        usage.append(f"{'-' + flag.short_name if flag.short_name else '--' + flag.name} "
                     f"{_metavar(flag, outputs)}")
    if outputs:
        pair = "-o PATH | -oc PATH"
        usage.append(f"({pair})" if extras.output_required else f"[{pair}]")
    usage.append("[flags]")
    lines = [f"usage: {' '.join(usage)}", ""]
    if doc:
        lines += [textwrap.dedent(doc).strip("\n"), ""]
    lines.append("flags:")
    entries = []
    for flag in command_flags(flag_values):
        notes = []
        if flag.name in extras.required:
            notes.append("(required)")
        elif outputs and flag.name in outputs and extras.output_required:
            notes.append("(required: -o or -oc)")
        default = _default_text(flag)
        if default is not None:
            notes.append(f"(default: {default})")
        entries.append((_names(flag, outputs), " ".join([flag.help.strip(), *notes])))
    entries.append(("-h, --help", "Show this help and exit."))
    column = min(32, max(len(names) for names, _ in entries) + 4)
    for names, text in entries:
        body = textwrap.wrap(text, width - column) or [""]
        if len(names) + 4 > column:
            lines.append(f"  {names}")
            lines += [" " * column + part for part in body]
        else:
            lines.append(f"  {names:<{column - 2}}{body[0]}")
            lines += [" " * column + part for part in body[1:]]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# parsing


def _wants_help(flag_values: flags.FlagValues, args: list[str]) -> bool:
    """Whether -h/--help is among the arguments (and not the value of a flag before it)."""
    known = flag_values._flags()
    takes_value = False
    for arg in args:
        if takes_value:
            takes_value = False
            continue
        if arg == "--":
            return False
        if arg in HELP_ARGS:
            return True
        if arg.startswith("-") and "=" not in arg:
            flag = known.get(arg.lstrip("-"))
            takes_value = flag is not None and flag.flag_type() != "bool"
    return False


def _unknown(arg: str, flag_values: flags.FlagValues) -> UsageError:
    name = arg.split("=", 1)[0]
    names = [f"--{flag.name}" for flag in command_flags(flag_values)]
    close = difflib.get_close_matches(f"--{name.lstrip('-')}", names, n=1)
    hint = f"; did you mean {close[0]}?" if close else " (see --help)"
    return UsageError(f"unknown flag {name}{hint}")


def parse_flags(flag_values: flags.FlagValues, args: list[str]) -> None:
    """Set the flags from ``args`` (``--name value``, ``--name=value``, ``-short value``,
    ``--flag`` / ``--noflag`` for booleans, one or two leading dashes), then check required
    flags and the -o/-oc pair. Raises :class:`UsageError` with a one-line message."""
    flag_values.unparse_flags()
    known = flag_values._flags()
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            if i < len(args):
                raise UsageError(f"unexpected argument {args[i]!r}: this command takes flags only "
                                 "(see --help)")
            break
        if not arg.startswith("-") or arg == "-" or arg[1:2].isdigit():
            raise UsageError(f"unexpected argument {arg!r}: this command takes flags only "
                             "(see --help)")
        name, has_value, value = arg.lstrip("-").partition("=")
        flag = known.get(name)
        if flag is None and name.startswith("no") and not has_value and \
                known.get(name[2:]) is not None and known[name[2:]].flag_type() == "bool" and \
                name[2:] == known[name[2:]].name:
            flag, has_value, value = known[name[2:]], True, "false"
        if flag is None:
            raise _unknown(arg, flag_values)
        if not has_value:
            if flag.flag_type() == "bool":
                value = "true"
            elif i < len(args):
                value = args[i]
                i += 1
            else:
                raise UsageError(f"{flag_label(flag)} needs a value (see --help)")
        try:
            flag.value = flag.parser.parse(value)
        except (TypeError, ValueError) as error:
            if flag.flag_type() == "bool":
                error = "must be true or false (or use the flag alone / --no" + flag.name + ")"
            raise UsageError(f"bad value {value!r} for {flag_label(flag)}: {error}") from None
        flag.present += 1
        flag.using_default_value = False
    flag_values.mark_as_parsed()
    extras = _extras(flag_values)
    missing = [flag_label(flag_values[name]) for name in extras.required
               if flag_values[name].value in (None, "", [], ())]
    if missing:
        raise UsageError(f"missing required flag{'s' if len(missing) > 1 else ''} "
                         f"{', '.join(missing)} (see --help)")
    if extras.output:
        new, replace = (flag_values[name] for name in extras.output)
        if new.value is not None and replace.value is not None:
            raise UsageError(f"give only one of {flag_label(new)} (a new output) and "
                             f"{flag_label(replace)} (replace an existing one)")
        if extras.output_required and new.value is None and replace.value is None:
            raise UsageError(f"give {flag_label(new)} PATH (a new output) or {flag_label(replace)} "
                             "PATH (replacing an existing one)")


# ---------------------------------------------------------------------------------------------
# running


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _input_error_line(error: InputError, setting_flags: Mapping[str, str]) -> str:
    message = str(error)
    setting = getattr(error, "setting", None)
    if setting is not None and setting in setting_flags:
        message += f" (see {setting_flags[setting]})"
    return message


def _os_error_line(error: OSError) -> str:
    if error.strerror:
        filename = error.filename if error.filename is not None else error.filename2
        return f"{filename}: {error.strerror}" if filename is not None else error.strerror
    return str(error) or type(error).__name__


def run(command: str, doc: str | None, flag_values: flags.FlagValues, main: Callable[[], None],
        setting_flags: Mapping[str, str] | None = None,
        check: Callable[[], None] | None = None, argv: list[str] | None = None) -> None:
    """Run one command: ``--help``; parse ``argv`` (default ``sys.argv[1:]``) into
    ``flag_values``; ``check()`` (cross-flag rules; raises :class:`UsageError`); log lines on
    stderr; SIGTERM raises KeyboardInterrupt; ``main()``. Bad flags and
    :class:`~fiddle_factornet.errors.InputError` print ``<command>: error: <message>`` and exit 2
    (``(see <flag>)`` appended when the error's ``setting`` is in ``setting_flags``); an OSError
    prints ``<command>: error: <file>: <reason>`` and exits 1; an interruption prints
    ``<command>: interrupted`` and exits 130. Any other exception is a bug: its traceback shows.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    setting_flags = setting_flags or {}
    if _wants_help(flag_values, args):
        sys.stdout.write(help_text(command, doc, flag_values))
        sys.exit(0)
    try:
        parse_flags(flag_values, args)
        if check is not None:
            check()
    except UsageError as error:
        sys.stderr.write(f"{command}: error: {error}\n")
        sys.exit(2)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        main()
    except InputError as error:
        sys.stderr.write(f"{command}: error: {_input_error_line(error, setting_flags)}\n")
        sys.exit(2)
    except KeyboardInterrupt:
        sys.stderr.write(f"{command}: interrupted\n")
        sys.exit(130)
    except OSError as error:
        sys.stderr.write(f"{command}: error: {_os_error_line(error)}\n")
        sys.exit(1)


class DevicesParser(flags.ArgumentParser):
    """``--devices``: a count >= 1, or ``all``."""

    def parse(self, argument):
        from ..runs.devices import parse_devices

        return parse_devices(argument)

    def flag_type(self) -> str:
        return "int"


def define_devices(flag_values: flags.FlagValues) -> None:
    """The training commands' ``--devices``."""
    flags.DEFINE(DevicesParser(), "devices", 1, "Devices to train on at once: N GPUs (without "
                 "GPUs, N logical CPU devices, one per core at most) or all (every GPU); "
                 "synchronous data parallelism under the tensorflow or jax backend, the batch "
                 "size being the global batch, the learning rate as given. 1: one device, no "
                 "distribution strategy.", flag_values=flag_values)
