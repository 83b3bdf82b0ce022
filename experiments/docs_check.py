"""Every shell command and Python example of the README and ``docs/`` runs, so that a renamed
key or option fails CI instead of a reader.

    python -m experiments.docs_check [--jobs 2] [FILE.md ...]

A command of one of the apps runs for real with a tiny budget added (one epoch, a few hundred
rows, outputs in a temporary folder), one after the other within a page, so that a later
command finds what an earlier one trained. Commands that need an optional extra, a network,
a cluster or minutes of compute (sweeps, searches, trackers, other launchers, full MNIST) are
composed and validated only, as ``--cfg job`` would; commands with placeholders
(``<date>``, ``RUN``) likewise. Other ``python -m`` modules must answer ``--help``. Set-up
lines (``pip``, ``venv``), servers (``mlflow ui``, ``tensorboard``) and the docs tools
themselves are listed as skipped. Exit 1 when any check fails, naming the page and line.
"""

import argparse
import concurrent.futures
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from experiments.docs_commands import (APPS, check_python, check_transcript, classify,
                                       compose_check, run_check)

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


@dataclass
class Example:
    page: str
    line: int
    text: str
    language: str  # bash | python | console (a "$ command" and what it prints)
    how: str = ""  # run | compose | help | python | shell | skip
    why: str = ""
    expect: int = 0  # the exit code the page says it ends with (a comment "# exit 2")
    printed: str = ""  # a console transcript: what the page shows the command printing


def examples(page: Path) -> list[Example]:
    """The bash commands (continuation lines joined) and Python blocks of one page."""
    text = page.read_text()
    found = []
    for block in BLOCK.finditer(text):
        language, body = block.group(1), block.group(2)
        start = text[:block.start()].count("\n") + 2
        name = str(page.relative_to(ROOT)) if page.is_relative_to(ROOT) else str(page)
        if language == "python":
            found.append(Example(name, start, body, "python"))
        elif language in ("", "console"):
            found += _transcripts(name, start, body)
        elif language == "bash":
            offset, pending = 0, ""
            for i, line in enumerate(body.splitlines()):
                if not pending:
                    offset = i
                piece = line.strip() if pending else line
                pending += piece.rstrip("\\").rstrip() + " " if piece.endswith("\\") else piece
                if line.rstrip().endswith("\\"):
                    continue
                command, comment = _without_comment(pending.strip())
                pending = ""
                if command:
                    said = re.search(r"\bexit (\d+)", comment)
                    found.append(Example(name, start + offset, command, "bash",
                                         expect=int(said.group(1)) if said else 0))
    return found


def _transcripts(page: str, start: int, body: str) -> list[Example]:
    """``$ command`` lines of a console block, each with the lines it prints after it."""
    found, lines = [], body.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("$ "):
            printed = []
            for more in lines[i + 1:]:
                if more.startswith("$ "):
                    break
                printed.append(more)
            found.append(Example(page, start + i, line[2:].strip(), "console",
                                 printed="\n".join(printed).strip()))
    return found


def _without_comment(line: str) -> tuple[str, str]:
    """(the command, its trailing ``# comment``); a ``#`` inside quotes is no comment."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip(), line[i + 1:].strip()
    return line.rstrip(), ""


def check(example: Example, scratch: Path) -> str | None:
    """None when the example works, else what went wrong (its last line)."""
    if example.how == "skip":
        return None
    if example.language == "python":
        return check_python(example.text, scratch)
    if example.language == "console":
        return check_transcript(example.text, example.printed, scratch)
    if example.how == "compose":
        return compose_check(example.text)
    return run_check(example.text, example.how, scratch, example.expect)


def check_page(items: list[Example], scratch: Path) -> list[tuple[Example, str | None, float]]:
    out = []
    for example in items:
        begun = time.perf_counter()
        try:
            problem = check(example, scratch)
        except Exception as exc:  # the checker's own failure is the example's failure
            problem = f"{type(exc).__name__}: {exc}"
        out.append((example, problem, time.perf_counter() - begun))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.docs_check",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("pages", nargs="*", type=Path,
                        help="Markdown files (default: README.md and docs/**/*.md)")
    parser.add_argument("--jobs", type=int, default=2, help="pages checked at once")
    args = parser.parse_args(argv)
    pages = args.pages or [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    by_page = {}
    for page in pages:
        for example in examples(page.resolve()):
            if example.language == "bash":
                example.how, example.why = classify(example.text)
            elif example.language == "console":
                example.how, example.why = "console", "a transcript: it prints what is shown"
            else:
                example.how, example.why = "python", "a Python example"
            by_page.setdefault(example.page, []).append(example)
    begun = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="docs-check-") as tmp, \
            concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
        done = list(pool.map(lambda items: check_page(items[1], Path(tmp) / str(items[0])),
                             enumerate(by_page.values())))
    results = [r for page in done for r in page]
    failed = [(e, p) for e, p, _ in results if p]
    for example, problem, seconds in results:
        mark = "FAIL" if problem else ("skip" if example.how == "skip" else "ok")
        print(f"{mark:4} {example.how:7} {seconds:5.1f}s {example.page}:{example.line}  "
              f"{example.text.splitlines()[0][:90]}" + (f"\n     {problem}" if problem else
                                                        ""))
    counts = {how: sum(e.how == how for e, _, _ in results)
              for how in ("run", "compose", "help", "shell", "python", "console", "skip")}
    checked = len(results) - counts["skip"]
    print(f"\n{checked} examples checked in {time.perf_counter() - begun:.0f}s ("
          + ", ".join(f"{n} {how}" for how, n in counts.items() if n and how != "skip")
          + f"), {counts['skip']} skipped; {len(failed)} failed")
    for example, problem in failed:
        print(f"error: {example.page}:{example.line}: {example.text.splitlines()[0][:80]}: "
              f"{problem}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["APPS", "Example", "examples", "main"]
