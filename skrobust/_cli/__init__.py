"""The ``skrobust`` command line.

``skrobust demo`` reproduces the noise-regularization tutorials' case studies
with repeated fits, a grid search, robustness curves and training histories,
or runs the same comparison, plus the other kinds of noise, on a user's CSV
file (``--param`` sets any estimator parameter there). The studies themselves
live in ``_demo/``; this package parses arguments and checks the input data:

- this module: :func:`main`, the table of commands and the log settings of
  the command's own process (``QUIET_FRAMEWORKS``);
- ``demo``: the ``demo`` command, its arguments and help, and its run;
- ``arguments``: argument value types (``--repeats``, ``--param``,
  ``--variants``, ...) and the checks of ``--param`` and ``--variants``
  against the estimators and the mode;
- ``csv_input``: reading ``--data`` and ``--target``: the table's checks, its
  task and preprocessing, every problem a one-line error.

Importing the package, building the parser and parsing arguments load
neither Keras nor a backend nor JAX (``skrobust --help`` and ``skrobust demo
--help`` answer in well under a second): the modules import them
when a command runs, after :func:`main` has set the logging variables.
"""

from __future__ import annotations

import argparse

from skrobust._cli import demo

# Environment variables that keep the frameworks' start-up lines out of the
# command's terminal. Set only in the command line's own process, before
# TensorFlow is imported, and never over a user's own setting: importing
# skrobust as a library leaves logging alone.
#
# - TF_CPP_MIN_LOG_LEVEL=2 drops TensorFlow's C++ INFO and WARNING lines
#   (cpu_feature_guard's "This TensorFlow binary is optimized ...") and with
#   them absl's "WARNING: All log messages before absl::InitializeLog() ..."
#   header, which is printed only in front of a line that gets through.
#   Errors stay visible.
# - TF_ENABLE_ONEDNN_OPTS=0: the "oneDNN custom operations are on" line
#   (port.cc, on CPUs where TensorFlow turns oneDNN on by default) is logged
#   while TensorFlow's libraries load, before the log level is read, so no
#   level stops it (TF 2.21, measured: TF_CPP_MIN_LOG_LEVEL=3,
#   GLOG_minloglevel and ABSL_MIN_LOG_LEVEL all let it and its absl header
#   through, twice). Turning the option off is what stops it; it changes
#   only TensorFlow's own kernels, which the command does not train with
#   (training and prediction run in JAX).
QUIET_FRAMEWORKS = {"TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0"}

# The commands: each module adds its subparser (``add_parser``) and runs the
# parsed command (``run``), returning the exit status.
COMMANDS = {"demo": demo}


def _quiet_frameworks() -> None:
    import os

    for name, value in QUIET_FRAMEWORKS.items():
        os.environ.setdefault(name, value)


def build_parser() -> argparse.ArgumentParser:
    """The ``skrobust`` parser, with a subparser per command."""
    parser = argparse.ArgumentParser(
        prog="skrobust",
        description="Noise regularization for Keras MLPs as scikit-learn estimators.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        command.add_parser(commands, name)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``skrobust`` command line; returns the exit status."""
    _quiet_frameworks()
    parser = build_parser()
    args = parser.parse_args(argv)
    # argparse accepts only the commands named here (the subparsers are
    # required), so every parsed command has its module.
    return COMMANDS[args.command].run(parser, args)
