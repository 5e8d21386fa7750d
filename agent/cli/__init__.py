"""The ``pixelpilot`` command: one module per group of subcommands, each parsing options and calling library
functions. Building the parser imports no torch: a command imports what it needs when it runs."""

from agent.cli.main import main

__all__ = ["main"]
