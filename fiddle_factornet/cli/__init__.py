"""Command-line entry points: thin wrappers that parse absl flags and call the library."""

from __future__ import annotations

import logging
import sys
from typing import Callable

from absl import app, flags  # absl.app loads absl.logging, which defines --verbosity and -v

from ..errors import InputError


def free_short_flag_v() -> None:
    """Release ``-v``, absl.logging's short name for ``--verbosity`` (which stays), so that a
    script can use ``-v`` as the original FactorNet did (validation chromosomes)."""
    if "v" in flags.FLAGS:
        delattr(flags.FLAGS, "v")


def run(main: Callable[[list[str]], None]) -> None:
    """Run ``main`` under absl: plain log lines on stderr, and bad input as one line, exit 2."""

    def wrapped(argv: list[str]) -> None:
        logging.basicConfig(level=logging.INFO, force=True, stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        if len(argv) > 1:
            raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
        try:
            main(argv)
        except InputError as error:
            sys.stderr.write(f"{sys.argv[0].rsplit('/', 1)[-1]}: error: {error}\n")
            sys.exit(2)

    app.run(wrapped)


#: the --cache flag's values -> the ``cache`` argument of Genome and TrackSet
CACHE_CHOICES = {"true": True, "false": False, "auto": "auto"}
