"""Run the benchmarks and record their figures in ``docs/benchmarks.md``.

``python -m bench`` runs every module of this package that has a ``run()``
function returning a dict; ``python -m bench ingestion routing`` runs only
those named. Each benchmark runs in a process of its own, so that settings
one changes, and its memory, do not carry into the next. The page keeps
its hand-written text: the runner rewrites only the blocks between its
``<!-- bench:... -->`` markers, one for the machine and one per benchmark,
and a benchmark that was not run keeps its last block.
"""

import argparse
import datetime as dt
import importlib
import json
import os
import pkgutil
import platform
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import bench

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
RESULT_PREFIX = "BENCH-RESULT "
PAGE_TITLE = "# Benchmarks"
PAGE_INTRO = (
    "Figures written by `python -m bench` (`make bench`). Each benchmark runs\n"
    "against a baseline measured in the same run, because the machine is\n"
    "shared and absolute times drift between runs.\n"
)


def benchmark_names() -> list[str]:
    """Return the modules of this package that define ``run()``, by name."""
    names = []
    for module_info in pkgutil.iter_modules(bench.__path__):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{module_info.name}")
        if callable(getattr(module, "run", None)):
            names.append(module_info.name)
    return sorted(names)


def run_child(name: str) -> None:
    """Run one benchmark in this process and print its figures as JSON."""
    module = importlib.import_module(f"bench.{name}")
    figures = module.run()
    print(RESULT_PREFIX + json.dumps(figures, default=str), flush=True)


def child_environment() -> dict[str, str]:
    """Return the environment of a benchmark process: this one, DEBUG off.

    With DEBUG on, Django records every query in memory, which slows the
    hot paths and inflates their memory. An environment variable takes
    precedence over ``.env`` (``make demo`` writes DEBUG=true there).
    """
    return {**os.environ, "DEBUG": "false"}


def run_benchmark(name: str) -> dict:
    """Run benchmark ``name`` in a child process; return its outcome.

    The outcome holds ``figures`` (the dict ``run()`` returned) or ``error``
    (the last lines the child wrote to stderr), and ``seconds``.
    """
    start = time.monotonic()
    process = subprocess.run(
        [sys.executable, "-m", "bench", "--child", name],
        capture_output=True,
        text=True,
        check=False,
        env=child_environment(),
    )
    seconds = time.monotonic() - start
    figures = None
    for line in process.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            figures = json.loads(line[len(RESULT_PREFIX) :])
    if process.returncode != 0 or figures is None:
        tail = "\n".join(process.stderr.strip().splitlines()[-15:])
        return {
            "seconds": seconds,
            "error": f"exit status {process.returncode}\n{tail}",
        }
    return {"seconds": seconds, "figures": figures}


# The machine and the database.


def machine() -> dict[str, str]:
    """Describe the CPU, cores and memory from /proc (Linux), else platform."""
    cpu = platform.processor() or platform.machine()
    memory = ""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
        cpu = found.group(1).strip() if found else cpu
        meminfo = Path("/proc/meminfo").read_text()
        found = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.MULTILINE)
        if found:
            memory = f"{int(found.group(1)) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count() or "unknown"),
        "memory": memory or "unknown",
        "python": platform.python_version(),
    }


def database_version() -> str:
    """Return ``SELECT version()`` of the benchmark database server."""
    bench.setup_django()
    from django.db import connection

    # The maintenance database: the configured one may not exist, because
    # every benchmark creates its own throwaway database.
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT version()")
        return cursor.fetchone()[0]


# The page.


def format_value(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    if value is None:
        return "–"
    return str(value).replace("|", "\\|").replace("\n", " ")


def format_figures(figures: dict) -> list[str]:
    """Return Markdown tables for ``figures``.

    Scalars, and scalars inside nested dicts under dotted names, go in one
    two-column table; each list of dicts gets a table of its own, with the
    dicts' keys as columns.
    """
    rows: list[tuple[str, object]] = []
    lists: list[tuple[str, list[dict]]] = []

    def collect(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                collect(f"{prefix}.{key}" if prefix else key, item)
        elif (
            isinstance(value, list)
            and value
            and all(isinstance(item, dict) for item in value)
        ):
            lists.append((prefix, value))
        else:
            rows.append((prefix, value))

    shown = {
        key: value
        for key, value in figures.items()
        if key not in ("benchmark", "target_met")
    }
    collect("", shown)
    lines = ["| figure | value |", "| --- | ---: |"]
    lines += [f"| {name} | {format_value(value)} |" for name, value in rows]
    for name, items in lists:
        columns = list(dict.fromkeys(key for item in items for key in item))
        lines += ["", f"{name}:", ""]
        lines.append("| " + " | ".join(columns) + " |")
        lines.append("| " + " | ".join("---:" for _ in columns) + " |")
        for item in items:
            cells = (format_value(item.get(column)) for column in columns)
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def benchmark_block(name: str, outcome: dict, command: str, date: str) -> str:
    """Return the Markdown block of one benchmark's outcome."""
    lines = [f"### {name}", ""]
    lines.append(f"Run with `{command}` on {date}, in {outcome['seconds']:.0f} s.")
    lines.append("")
    if "error" in outcome:
        lines += ["The benchmark failed:", "", "```", outcome["error"], "```"]
        return "\n".join(lines)
    figures = outcome["figures"]
    if "target_met" in figures:
        lines += [f"Target met: **{format_value(figures['target_met'])}**.", ""]
    lines += format_figures(figures)
    return "\n".join(lines)


def environment_block(machine_info: dict, database: str, command: str, date: str):
    return "\n".join(
        [
            "## Last run",
            "",
            f"- Command: `{command}`",
            f"- Date: {date}",
            f"- CPU: {machine_info['cpu']}, {machine_info['cores']} cores",
            f"- Memory: {machine_info['memory']}",
            f"- Python: {machine_info['python']}",
            f"- Database: {database}",
            "- Django settings: tests.settings with DEBUG off",
        ]
    )


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"


def replace_block(page: str, name: str, body: str) -> str:
    """Put ``body`` between the markers of block ``name`` in ``page``.

    A block not yet on the page is added at the end.
    """
    start, end = _markers(name)
    block = f"{start}\n{body}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(page):
        return pattern.sub(lambda _: block, page, count=1)
    return page.rstrip("\n") + "\n\n" + block + "\n"


def update_page(page: str, blocks: dict[str, str]) -> str:
    """Return ``page`` (empty for a new one) with ``blocks`` written in."""
    if not page.strip():
        page = f"{PAGE_TITLE}\n\n{PAGE_INTRO}"
    for name, body in blocks.items():
        page = replace_block(page, name, body)
    return page


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", help="benchmarks to run (default: all of them)"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="Markdown page to write the figures to (default: docs/benchmarks.md)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.child:
        run_child(options.child)
        return 0

    available = benchmark_names()
    unknown = [name for name in options.names if name not in available]
    if unknown:
        parser.error(
            f"no benchmark named {', '.join(unknown)}; choose from "
            f"{', '.join(available)}"
        )
    names = options.names or available
    command = " ".join(["python -m bench", *map(shlex.quote, options.names)])
    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    blocks = {
        "environment": environment_block(machine(), database_version(), command, date)
    }
    failed = []
    for name in names:
        print(f"Running {name} ...", flush=True)
        outcome = run_benchmark(name)
        if "error" in outcome:
            failed.append(name)
            print(f"  {name} failed: {outcome['error']}", flush=True)
        else:
            print(f"  {name} done in {outcome['seconds']:.0f} s", flush=True)
        blocks[name] = benchmark_block(name, outcome, command, date)
        # Write after each benchmark, so a long run leaves what it measured.
        page = options.output.read_text() if options.output.exists() else ""
        options.output.parent.mkdir(parents=True, exist_ok=True)
        options.output.write_text(update_page(page, blocks))
    print(f"Wrote {options.output}: {len(names) - len(failed)} of {len(names)} ran.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
