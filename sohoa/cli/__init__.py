"""`sohoa`: the command line. Thin: parse, call the pipeline, print.

Exit codes: 0 all good; 1 usage or configuration error; 2 the batch finished with failed
records (or `verify` found a problem); 130 interrupted.

One module per kind of user (run, query, register, review, classify, admin, package,
timestamps); each lists its
top-level commands in `COMMANDS`. A new module: write its commands with `@click.command()`
(or a `@click.group()`), using the helpers of `sohoa.cli.options` and `sohoa.cli.output`,
end it with `COMMANDS = [...]` and add it to `_MODULES` below.
"""

from __future__ import annotations

from sohoa.cli import (
    admin,
    classify,
    package,
    query,
    register,
    review,
    run,
    search,
    timestamps,
)
from sohoa.cli.app import main
from sohoa.cli.options import (
    find_batch_id,
    format_option,
    friendly_errors,
    open_database,
    scheduler_option,
    settings_of,
    workers_option,
)
from sohoa.cli.output import FORMATS, console, emit, err_console, safe_url, say

_MODULES = (run, query, search, register, review, classify, admin, package, timestamps)
for _module in _MODULES:
    for _command in _module.COMMANDS:
        main.add_command(_command)

# The names modules written against the single-file cli.py import.
_settings = settings_of
_database = open_database

__all__ = [
    "FORMATS",
    "console",
    "emit",
    "err_console",
    "find_batch_id",
    "format_option",
    "friendly_errors",
    "main",
    "open_database",
    "safe_url",
    "say",
    "scheduler_option",
    "settings_of",
    "workers_option",
]
