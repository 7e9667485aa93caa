"""checkov on infra/: no failed check, and every skip says why."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tests.deploy.conftest import ROOT

SKIP = re.compile(r"//\s*checkov:skip=(?P<check>[A-Z0-9_]+)(?::(?P<reason>.*))?")


def test_checkov_finds_no_failed_check(checkov: Path) -> None:
    result = subprocess.run(
        [str(checkov), "-d", "infra/", "--framework", "bicep", "--skip-download", "-o", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    report = json.loads(result.stdout)
    summary = report["summary"]
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']})"
        for c in report["results"]["failed_checks"]
    ]
    assert failed == []
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 0
    assert result.returncode == 0


def test_every_skip_carries_its_reason() -> None:
    skips = [
        match
        for path in (ROOT / "infra").rglob("*.bicep")
        for match in SKIP.finditer(path.read_text())
    ]

    assert skips, "no skips: drop this test's reason check or keep it honest"
    for skip in skips:
        reason = skip["reason"] or ""
        assert len(reason.split()) >= 5, f"say why: {skip.group(0)}"
