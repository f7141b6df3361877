"""The one exception type a user can cause.

A GenlabError carries a one-line message that names the problem and the fix.
The CLI prints it without a traceback and exits with code 2.
"""


class GenlabError(Exception):
    """An error caused by the user's input (bad flag, missing file, NaN loss...)."""
