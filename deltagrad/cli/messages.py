"""How the ``deltagrad`` command talks: one error prefix, "did you mean", plain help, lines
that fit the terminal.

Every error of every subcommand is printed as ``deltagrad: error: MESSAGE`` (after the
usage line for a mistake in the arguments), help texts are plain text (no Markdown or
LaTeX), and listings are cut to the terminal's width with "…".
"""
from __future__ import annotations

import argparse
import difflib
import re
import shutil
import sys

PREFIX = "deltagrad: error: "


def error_line(message: str) -> str:
    """The one form of an error message: ``deltagrad: error: MESSAGE``."""
    return PREFIX + str(message)


def warning(message: str) -> None:
    """Print ``deltagrad: warning: MESSAGE`` on stderr."""
    print("deltagrad: warning: " + str(message), file=sys.stderr)


def did_you_mean(word: str, choices) -> str:
    """``" (did you mean 'x'?)"`` for the closest of ``choices`` to a misspelt ``word``
    (difflib's ratio ≥ 0.6, up to three), or ``""`` when nothing is close."""
    choices = [str(c) for c in choices]
    close = difflib.get_close_matches(str(word), choices, n=3, cutoff=0.6)
    if not close:  # a prefix or a different case: "char" → char-lstm, "LeNet" → lenet
        low = str(word).lower()
        close = [c for c in choices if c.lower().startswith(low) or c.lower() == low][:3]
    if not close:
        return ""
    return " (did you mean " + " or ".join(repr(c) for c in close) + "?)"


def plain(text: str) -> str:
    """``text`` without Markdown/reST markup: `code`, ``code``, **bold**, :func:`name`."""
    text = re.sub(r":[a-z]+:`([^`]*)`", r"\1", str(text))
    text = re.sub(r"`{1,2}([^`]*)`{1,2}", r"\1", text)
    return text.replace("**", "")


def fit(line: str, width: int | None = None) -> str:
    """``line`` cut to ``width`` columns (default: the terminal's), ending in "…" if cut."""
    width = width or shutil.get_terminal_size((100, 24)).columns
    return line if len(line) <= width else line[:max(width - 1, 1)] + "…"


def parse_arguments(parser, argv) -> tuple:
    """``(args, None)``, or ``(None, exit status)`` where argparse stops: 0 after ``--help``
    or ``--version``, 2 after a usage error (its ``deltagrad: error:`` line on stderr)."""
    try:
        return parser.parse_args(argv), None
    except SystemExit as e:
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
        return None, (0 if e.code in (0, None) else 2)


class Parser(argparse.ArgumentParser):
    """argparse with deltagrad's error form; a misspelt subcommand or choice gets a
    "did you mean" and the error leaves as ``SystemExit("deltagrad: error: ...")``."""

    def error(self, message):
        self.print_usage(sys.stderr)
        raise SystemExit(error_line(_with_suggestion(message))) from None

    def format_help(self):
        return plain(super().format_help())


def _with_suggestion(message: str) -> str:
    """argparse's "invalid choice: 'trian' (choose from ...)" plus the closest choice."""
    if "invalid choice: " not in message:
        return message
    m = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if not m:
        return message
    choices = re.findall(r"'([^']*)'", m.group(2)) or [c.strip() for c in m.group(2).split(",")]
    return message + did_you_mean(m.group(1), choices)
