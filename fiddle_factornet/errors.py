"""The one exception type for bad user input.

Library code raises :class:`InputError` with a one-line message that names the file, line or
value at fault; command-line scripts print that line and exit non-zero, without a traceback.
Library messages speak of files, values and parameters, never of command-line flags: an error
about one parameter names it in ``setting`` and each command says which of its flags that is.
"""


class InputError(ValueError):
    """Bad input from the user: a missing file, a malformed line, an unknown chromosome, ...

    ``setting``: the library parameter at fault (e.g. ``"overwrite"``), when there is one.
    """

    def __init__(self, message: str, setting: str | None = None):
        super().__init__(message)
        self.setting = setting
