"""The README as a front door: short, its example first, its commands what CI
runs, and its quickstart code working."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[tuple[int, str]]:
    """(first line number, code) of each fenced block in ``language``."""
    found = []
    for match in re.finditer(rf"^```{language}\n(.*?)^```", README, re.M | re.S):
        found.append((README.count("\n", 0, match.start()) + 1, match.group(1)))
    return found


def _commands(text: str) -> list[str]:
    """Shell commands of a block or script: comments and blank lines dropped."""
    lines = (line.split(" #")[0].strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def test_readme_is_short_and_opens_with_its_example():
    assert len(README.splitlines()) <= 150
    first_line, _ = _blocks("python")[0]
    assert first_line <= 60


def test_readme_commands_are_what_ci_runs():
    install, tests, demo = _commands(_blocks("bash")[0][1])
    assert install == 'pip install -e ".[test]"'
    assert tests == "python tests/run.py"
    assert demo == "skrobust demo --quick --out skrobust-demo-out"
    ci = _commands((ROOT / ".ci" / "run").read_text(encoding="utf-8"))
    assert f"python -m {install}" in ci
    assert ci[-1] == tests


def test_readme_quickstart_runs(capsys):
    _, code = _blocks("python")[0]
    # The same search with a few epochs, so that it takes seconds.
    assert "epochs=1000" in code
    exec(compile(code.replace("epochs=1000", "epochs=3"), "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "noisymlpclassifier__noise_std" in printed
