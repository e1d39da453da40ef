"""The benchmark runner's page: value formats, tables and kept blocks."""

from bench.__main__ import (
    benchmark_block,
    format_figures,
    format_value,
    replace_block,
    update_page,
)


def test_format_value_kinds():
    assert format_value(True) == "yes"
    assert format_value(False) == "no"
    assert format_value(12345) == "12,345"
    assert format_value(1.5) == "1.5"
    assert format_value(2.0) == "2"
    assert format_value(0.1234) == "0.123"
    assert format_value(None) == "–"
    assert format_value("a|b") == "a\\|b"


def test_format_figures_flattens_nested_dicts():
    lines = format_figures(
        {"benchmark": "x", "orders": 10, "pull": {"seconds": 1.25, "rate": 8}}
    )

    assert lines == [
        "| figure | value |",
        "| --- | ---: |",
        "| orders | 10 |",
        "| pull.seconds | 1.25 |",
        "| pull.rate | 8 |",
    ]


def test_format_figures_tables_lists_of_dicts():
    lines = format_figures(
        {"growth": {"levels": [{"held": 0, "ms": 1.5}, {"held": 10, "ms": 1.6}]}}
    )

    assert lines[2:] == [
        "",
        "growth.levels:",
        "",
        "| held | ms |",
        "| ---: | ---: |",
        "| 0 | 1.5 |",
        "| 10 | 1.6 |",
    ]


def test_benchmark_block_states_target_and_command():
    block = benchmark_block(
        "routing",
        {"seconds": 12.4, "figures": {"benchmark": "routing", "target_met": False}},
        "python -m bench routing",
        "2026-12-03 10:00 UTC",
    )

    lines = block.splitlines()
    assert lines[0] == "### routing"
    assert lines[2] == (
        "Run with `python -m bench routing` on 2026-12-03 10:00 UTC, in 12 s."
    )
    assert lines[4] == "Target met: **no**."


def test_benchmark_block_shows_failure():
    block = benchmark_block(
        "soak", {"seconds": 3, "error": "exit status 1\nboom"}, "python -m bench", "d"
    )

    assert "The benchmark failed:" in block
    assert "exit status 1\nboom" in block
    assert "| figure |" not in block


def test_replace_block_keeps_text_around_it():
    page = (
        "# Benchmarks\n\nNotes.\n\n<!-- bench:a:start -->\nold\n"
        "<!-- bench:a:end -->\n\nMore notes.\n"
    )

    updated = replace_block(page, "a", "new")

    assert updated == (
        "# Benchmarks\n\nNotes.\n\n<!-- bench:a:start -->\nnew\n"
        "<!-- bench:a:end -->\n\nMore notes.\n"
    )


def test_replace_block_appends_missing_block():
    updated = replace_block("# Benchmarks\n", "b", "body")

    assert (
        updated
        == "# Benchmarks\n\n<!-- bench:b:start -->\nbody\n<!-- bench:b:end -->\n"
    )


def test_update_page_starts_new_page_and_keeps_other_blocks():
    page = update_page("", {"a": "first", "b": "second"})
    page = update_page(page, {"b": "third"})

    assert page.startswith("# Benchmarks\n\n")
    assert "<!-- bench:a:start -->\nfirst\n<!-- bench:a:end -->" in page
    assert "<!-- bench:b:start -->\nthird\n<!-- bench:b:end -->" in page
    assert "second" not in page
