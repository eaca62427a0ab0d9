"""Measure the triage engine against the corpus of patient messages.

    python -m followup.triage.evaluate [--corpus FILE ...] [--misses]
    hospital triage-eval [--corpus FILE ...] [--misses]

Each line of a corpus file is {"text", "label": "red_flag"|"ordinary", "concept", "age", "sex"}.
A red flag counts as caught when the engine stops the message (any red flag, or a question back:
neither lets the visit go on); an ordinary message counts as passed when the engine finds
nothing and asks nothing. Prints recall per concept, specificity, and time per message."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from followup.triage.engine import read_message

DEFAULT_CORPORA = ("patients_a.jsonl", "patients_b_heldout.jsonl", "patients_c_heldout.jsonl")


@dataclass(frozen=True)
class Case:
    text: str
    red_flag: bool
    concept: str | None
    age: float | None
    source: str


@dataclass
class Report:
    caught: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    total: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    by_question: int = 0
    ordinary: int = 0
    passed: int = 0
    misses: list[Case] = field(default_factory=list)
    false_alarms: list[tuple[Case, str]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    @property
    def recall(self) -> float:
        total = sum(self.total.values())
        return sum(self.caught.values()) / total if total else 1.0

    @property
    def specificity(self) -> float:
        return self.passed / self.ordinary if self.ordinary else 1.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def load(paths: Iterable[str]) -> list[Case]:
    cases = []
    for name in paths:
        path = Path(name)
        text = (
            path.read_text("utf-8")
            if path.exists()
            else resources.files("followup.triage_corpus").joinpath(name).read_text("utf-8")
        )
        for line in text.splitlines():
            if line.strip():
                row = json.loads(line)
                cases.append(
                    Case(
                        row["text"],
                        row["label"] == "red_flag",
                        row.get("concept"),
                        row.get("age"),
                        path.name,
                    )
                )
    return cases


def evaluate(cases: list[Case]) -> Report:
    report = Report()
    for case in cases:
        started = time.perf_counter()
        result = read_message(case.text, case.age)
        report.seconds.append(time.perf_counter() - started)
        stopped = bool(result.red_flags or result.questions)
        if case.red_flag:
            concept = case.concept or "?"
            report.total[concept] += 1
            if stopped:
                report.caught[concept] += 1
                report.by_question += 0 if result.red_flags else 1
            else:
                report.misses.append(case)
        else:
            report.ordinary += 1
            if stopped:
                why = "; ".join(f"{f.code}:{f.words}" for f in result.red_flags) or "; ".join(
                    result.questions
                )
                report.false_alarms.append((case, why))
            else:
                report.passed += 1
    return report


def render(report: Report, show_misses: bool) -> str:
    lines = [f"{'concept':<24}{'caught':>8}{'total':>7}{'recall':>9}"]
    for concept in sorted(report.total):
        caught, total = report.caught[concept], report.total[concept]
        lines.append(f"{concept:<24}{caught:>8}{total:>7}{caught / total:>9.1%}")
    red = sum(report.total.values())
    lines += [
        f"red flags: {sum(report.caught.values())}/{red} caught, recall {report.recall:.1%} "
        f"({report.by_question} by a question back)",
        f"ordinary: {report.passed}/{report.ordinary} passed, specificity {report.specificity:.1%}",
        f"time per message: p50 {statistics.median(report.seconds) * 1e3:.3f} ms, "
        f"p99 {report.percentile(0.99) * 1e3:.3f} ms, max {max(report.seconds) * 1e3:.3f} ms "
        f"({len(report.seconds)} messages, in process)",
    ]
    if show_misses:
        lines += [f"MISS [{c.concept}] {c.text}" for c in report.misses]
        lines += [f"FALSE ALARM {c.text}  ← {why}" for c, why in report.false_alarms]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", action="append", help="a JSONL file (default: both shipped)")
    parser.add_argument("--misses", action="store_true", help="list misses and false alarms")
    args = parser.parse_args(argv)
    cases = load(args.corpus or DEFAULT_CORPORA)
    read_message("预热")  # compile the lexicon before timing
    report = evaluate(cases)
    print(render(report, args.misses))
    return report


if __name__ == "__main__":
    main()
