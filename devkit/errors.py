"""The one base error of devkit.

Every error a user can cause is a `DevkitError` (or a subclass defined next to the code that raises
it) whose message is one line saying what went wrong and what to do next. Only the command-line
layer turns it into an exit status; the editor turns it into a notification.
"""


class DevkitError(Exception):
    """An error the user can act on; `str(error)` is the one-line message."""

    exit_code = 1
