"""The one exception type for bad user input.

Library code raises :class:`InputError` with a one-line message that names the file, line or
value at fault; command-line scripts print that line and exit non-zero, without a traceback.
"""


class InputError(ValueError):
    """Bad input from the user: a missing file, a malformed line, an unknown chromosome, ..."""
