"""Mutation testing of the safety modules (mutmut): each module is mutated and its own tests
run against every mutant; the score is the share of mutants the tests kill. Run it with
`make mutation` (or `python -m dev.mutation [module ...]`); it is not part of every CI run.

Each module runs in a scratch copy of the tracked tree, so the checkout is never touched.
Modules whose tests need the database use TEST_DATABASE_URL / TEST_REDIS_URL as the suite does
(give them a database of their own). The target is 90% killed per module."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 0.90
# Each safety module and the tests that are meant to catch a change in it.
MODULES: dict[str, tuple[str, ...]] = {
    "prescriptions/dosing.py": (
        "tests/prescriptions/test_dosing.py",
        "tests/prescriptions/test_frequency_heldout.py",
    ),
    "prescriptions/screening.py": (
        "tests/prescriptions/test_screening.py",
        "tests/prescriptions/test_screening_heldout.py",
        "tests/prescriptions/test_controlled_catalogue.py",
    ),
    "prescriptions/formulary.py": (
        "tests/prescriptions/test_formulary.py",
        "tests/prescriptions/test_formulary_attacks.py",
        "tests/prescriptions/test_formulary_lines.py",
    ),
    "prescriptions/rules.py": (
        "tests/prescriptions/test_prescribing.py",
        "tests/prescriptions/test_prescribing_units.py",
        "tests/prescriptions/test_allergies.py",
        "tests/prescriptions/test_review.py",
        "tests/prescriptions/test_rules_findings.py",
    ),
    "followup/triage/engine.py": (
        "tests/followup/test_triage.py",
        "tests/followup/test_triage_doors.py",
        "tests/followup/test_triage_readings_and_thresholds.py",
    ),
    "core/signing.py": (
        "tests/identity/test_practitioners.py",
        "tests/prescriptions/test_signing.py",
        "tests/core/test_signing_tamper.py",
    ),
    "core/audit.py": (
        "tests/core/test_audit.py",
        "tests/core/test_audit_sealing.py",
        "tests/core/test_audit_chain_tamper.py",
        "tests/core/test_audit_seal_scheduling.py",
    ),
    "core/audit_chain.py": (
        "tests/core/test_audit.py",
        "tests/core/test_audit_sealing.py",
        "tests/core/test_audit_chain_tamper.py",
    ),
    "pharmacy/access.py": ("tests/pharmacy/test_prescription_access.py",),
    "pharmacy/services/dispensing.py": (
        "tests/pharmacy/test_kiosk.py",
        "tests/pharmacy/test_counter_checks.py",
        "tests/pharmacy/test_dispensing_record.py",
    ),
}
ALSO_COPY = (
    "core",
    "identity",
    "followup",
    "prescriptions",
    "pharmacy",
    "web",
    "bot",
    "wechat",
    "migrations",
    "tests",
)
RESULT = re.compile(r"^\s*(\S+): (\w[\w ]*)$")


def _tracked_copy(into: Path) -> None:
    git = shutil.which("git") or "git"
    files = subprocess.run(  # noqa: S603 - our own tree, fixed arguments
        [git, "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in files:
        target = into / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, target)


def _configure(tree: Path, module: str, tests: tuple[str, ...]) -> None:
    config = tree / "pyproject.toml"
    quoted = ", ".join(f'"{t}"' for t in tests)
    config.write_text(
        config.read_text("utf-8")
        + "\n[tool.mutmut]\n"
        + f'source_paths = ["{module}"]\n'
        + f"pytest_add_cli_args_test_selection = [{quoted}]\n"
        + 'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-x"]\n'
        # The packages' data files (corpora, catalogues) and the tests' own data go too.
        + f"also_copy = [{', '.join(repr(p + '/') for p in ALSO_COPY)}]\n",
        "utf-8",
    )


def score(module: str, tests: tuple[str, ...]) -> tuple[int, int, list[str]]:
    """Killed, total, and the survivors' names (with their status), for one module. A run
    whose mutants were never checked (the tests failed before any mutant) is said as such."""
    mutmut = str(Path(sys.executable).parent / "mutmut")
    with tempfile.TemporaryDirectory(prefix="mutation-") as scratch:
        tree = Path(scratch)
        _tracked_copy(tree)
        _configure(tree, module, tests)
        run = [mutmut, "run"]
        done = subprocess.run(run, cwd=tree, env=os.environ, capture_output=True, check=False)  # noqa: S603
        results = [mutmut, "results", "--all", "true"]
        listed = subprocess.run(  # noqa: S603 - the venv's mutmut, fixed arguments
            results, cwd=tree, capture_output=True, text=True, check=False
        ).stdout
    outcomes = [m.groups() for m in map(RESULT.match, listed.splitlines()) if m]
    if outcomes and all(status == "not checked" for _, status in outcomes):
        tail = (done.stdout + done.stderr)[-1500:].decode(errors="replace")
        raise SystemExit(f"{module}: no mutant was checked — the tests did not run:\n{tail}")
    killed = sum(1 for _, status in outcomes if status == "killed")
    survivors = [f"{name} ({status})" for name, status in outcomes if status != "killed"]
    return killed, len(outcomes), survivors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("modules", nargs="*", help="modules to mutate (default: all listed)")
    args = parser.parse_args(argv)
    chosen = args.modules or list(MODULES)
    failed = False
    for module in chosen:
        killed, total, survivors = score(module, MODULES[module])
        ratio = killed / total if total else 0.0
        failed |= ratio < TARGET
        print(f"{module:<32} {killed:>4}/{total:<4} killed  {ratio:6.1%}")
        for name in survivors[:20]:
            print(f"    survived: {name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
