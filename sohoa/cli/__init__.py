"""`sohoa`: the command line. Thin: parse, call the pipeline, print.

Exit codes: 0 all good; 1 usage or configuration error; 2 the batch finished with failed
records (or `verify` found a problem); 130 interrupted.

One module per kind of user (run, query, register, review, classify, admin, package,
timestamps, serve); each lists its
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
    serve,
    timestamps,
)
from sohoa.cli.app import main

_MODULES = (
    run, query, search, register, review, classify, admin, package, timestamps, serve
)
for _module in _MODULES:
    for _command in _module.COMMANDS:
        main.add_command(_command)

__all__ = ["main"]
