"""The repro as the terminal shows it: whole and runnable, or cut and saying where it is whole."""

from __future__ import annotations

from conformance.repro.script import terminal_view

HEADER = [
    "# Repro of X-CLAUSE (MUST) for the store S.",
    "",
    "import asyncio",
    "import os",
    "import sys",
    "",
    "sys.path.insert(0, os.getcwd())",
    "",
    "from conformance.repro import Referee  # noqa: E402",
    "",
    "",
    "async def main() -> None:",
]


def _script(calls: list[str]) -> str:
    return "\n".join([*HEADER, *calls, "", "", "asyncio.run(main())", ""])


def test_a_short_script_is_shown_from_its_imports_so_it_runs_as_printed() -> None:
    view = terminal_view(_script(["    x = 1"]), "repros/s__X.py")
    assert view[0].startswith("a repro, runnable as printed")
    assert view[1] == "import asyncio"
    assert view[-1] == "asyncio.run(main())"
    compile("\n".join(view[1:]), "pasted.py", "exec")


def test_a_long_outcome_comment_is_cut_and_the_script_still_runs() -> None:
    call = "    y = 2  # in the suite: -> " + "SessionData(data=" * 20
    view = terminal_view(_script([call]), "repros/s__X.py", width=80)
    assert view[0].startswith("a repro, runnable as printed")
    assert max(len(line) for line in view[1:]) <= 80
    compile("\n".join(view[1:]), "pasted.py", "exec")


def test_a_long_script_is_an_excerpt_that_names_the_full_file() -> None:
    view = terminal_view(_script([f"    x{n} = {n}" for n in range(80)]), "repros/s__X.py")
    assert view[0] == (
        "a repro, shortened here so it does not run as printed; in full: repros/s__X.py"
    )
    assert any(line.strip().startswith("# ...") and "more lines" in line for line in view)
    assert len(view) <= 52


def test_a_long_line_of_code_makes_it_an_excerpt() -> None:
    view = terminal_view(_script(["    x = '" + "a" * 200 + "'"]), "rerun with X")
    assert view[0].endswith("in full: rerun with X")
    assert any(line.endswith("…") for line in view)
