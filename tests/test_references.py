"""The repository is its own reference: no comment or document cites a design file that is not
in it (docs/ is the contract)."""

from __future__ import annotations

import subprocess

from tests.servers import ROOT


def test_nothing_cites_a_design_document_outside_the_repository() -> None:
    found = subprocess.run(
        [
            "git",
            "grep",
            "-n",
            "-I",
            "-E",
            r"design\.md|design §",
            "--",
            ".",
            ":!tests/test_references.py",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert found.returncode == 1, f"point these at docs/ instead:\n{found.stdout}"
