"""How far the offline grader generalises to questions nobody tuned it on: SemEval-2013 Task 7.

    python benchmarks/semeval.py [--data ../shared/datasets/semeval2013-task7]

The data (CC BY-SA 3.0; Dzikovska et al. 2013, https://aclanthology.org/S13-2045/) holds science
questions with reference answers and student answers labelled correct / contradictory / incorrect.
Its questions are written to a CSV (question, reference, topic, id) and imported with
`interviewer bank import`, the way a user's CSV is: no key point is written by hand, all are
derived from the reference. Where a question has several reference answers, the first (the best)
is the reference, as a user's one-reference-per-row CSV would have it.

Every answer is graded offline. Scores become labels with a threshold (and whether an error the
grader found makes an answer contradictory) chosen per corpus on `training/` alone; each test split
is then measured once: accuracy, macro-F1 and weighted F1 over the 3 labels, and the correlation of
the score with correct / not correct.

Beside it, two reference baselines are re-run here on the same answers, each trained per corpus on
`training/` alone: the majority label of the training answers, and the organisers' lexical-overlap
baseline (word-overlap features with the reference answers and the question, into Weka's J48
decision tree; see semeval_baseline.py for how faithfully). They are re-run, not quoted, because
the task paper's published tables were not at hand offline; no published figure is shown.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import statistics
import subprocess
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from common import interviewer_command  # benchmarks/ is on sys.path when a script runs
from semeval_baseline import J48, features

HERE = Path(__file__).resolve().parent
# shared/ sits beside the checkout (or beside a folder of worktrees holding it).
DATA = next(
    (d for p in HERE.parents if (d := p / "shared" / "datasets" / "semeval2013-task7").is_dir()),
    HERE.parent.parent / "shared" / "datasets" / "semeval2013-task7",
)
LABELS = ("correct", "contradictory", "incorrect")
CORPORA = ("beetle", "sciEntsBank")
# The task paper's published figures (Dzikovska et al. 2013) were not at hand offline, so none is
# quoted: the baselines are re-run here instead. Fill this only from the paper itself.
PUBLISHED: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Answer:
    question: str  # the bank id
    text: str
    label: str
    prompt: str  # the question's words and all its reference answers, for the overlap baseline
    references: tuple[str, ...]
    id: str = ""  # the data's own id of the answer


@dataclass(frozen=True)
class Split:
    corpus: str
    name: str  # "training" or a test split
    answers: list[Answer]


def _slug(text: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))


def read_data(root: Path) -> tuple[list[dict[str, str]], list[Split]]:
    """The questions (as CSV rows) and the labelled answers of every split, 3-way labels."""
    questions: dict[str, dict[str, str]] = {}
    same: dict[tuple[str, str, str], str] = {}
    splits: dict[tuple[str, str], list[Answer]] = {}
    for xml in sorted(root.glob("*/3way/*/**/*.xml")):
        corpus = xml.relative_to(root).parts[2]
        split = "training" if xml.relative_to(root).parts[0] == "training" else xml.parent.name
        node = ElementTree.parse(xml).getroot()
        prompt = (node.findtext("questionText") or "").strip()
        reference = (node.findtext("referenceAnswers/referenceAnswer") or "").strip()
        references = tuple(r.text or "" for r in node.iter("referenceAnswer"))
        # Beetle asks some questions twice under two ids, same words and reference: one question.
        qid = same.setdefault((corpus, prompt, reference), f"{_slug(corpus)}/{_slug(node.get('id', ''))}")
        questions.setdefault(
            qid, {"id": qid, "topic": _slug(corpus), "question": prompt, "reference": reference}
        )
        splits.setdefault((corpus, split), []).extend(
            Answer(qid, (a.text or "").strip(), a.get("accuracy", ""), prompt, references, a.get("id", ""))
            for a in node.iter("studentAnswer")
        )
    return list(questions.values()), [Split(c, s, a) for (c, s), a in sorted(splits.items())]


def import_questions(rows: list[dict[str, str]], work: Path) -> Path:
    """The questions imported as a user imports a CSV: `interviewer bank import deck.csv -o ...`."""
    deck, out = work / "semeval.csv", work / "semeval.toml"
    with deck.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["id", "topic", "question", "reference"])
        writer.writeheader()
        writer.writerows(rows)
    env = {**os.environ, "INTERVIEWER_HOME": str(work / "home"), "NO_COLOR": "1"}
    env.pop("INTERVIEWER_BANK", None)
    done = subprocess.run(
        [*interviewer_command(), "bank", "import", str(deck), "-o", str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    print(done.stdout.splitlines()[0])
    skipped = [line for line in done.stdout.splitlines() if line.startswith("  ") and "semeval.csv:" in line]
    if skipped:
        print(f"  skipped {len(skipped)}: " + "; ".join(s.strip() for s in skipped[:3]))
    return out


def f1_per_label(gold: list[str], predicted: list[str]) -> list[float]:
    scores = []
    for label in LABELS:
        tp = sum(g == p == label for g, p in zip(gold, predicted, strict=True))
        fp = sum(p == label != g for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == label != p for g, p in zip(gold, predicted, strict=True))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return scores


def macro_f1(gold: list[str], predicted: list[str]) -> float:
    return statistics.fmean(f1_per_label(gold, predicted))


def weighted_f1(gold: list[str], predicted: list[str]) -> float:
    """F1 of each label weighted by its share of the gold labels (the task's "micro-average" row)."""
    counts = Counter(gold)
    return sum(
        counts[label] * f for label, f in zip(LABELS, f1_per_label(gold, predicted), strict=True)
    ) / len(gold)


def accuracy(gold: list[str], predicted: list[str]) -> float:
    return sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)


def figures(gold: list[str], predicted: list[str]) -> str:
    """Accuracy, macro-F1 and weighted F1, as three columns."""
    return (
        f"{accuracy(gold, predicted):.3f} {macro_f1(gold, predicted):.3f} {weighted_f1(gold, predicted):.3f}"
    )


def correlation(scores: list[float], gold: list[str]) -> float:
    """Pearson's r of the score with correct (1) / not correct (0): the point-biserial correlation."""
    if len(set(scores)) < 2:
        return 0.0
    return statistics.correlation(scores, [float(g == "correct") for g in gold])


@dataclass(frozen=True)
class Rule:
    """Scores to labels: correct from `threshold` up; below, contradictory where the grader found an
    error (when `errors_contradict`), else incorrect."""

    threshold: float
    errors_contradict: bool

    def label(self, score: float, errors: bool) -> str:
        if self.errors_contradict and errors:
            return "contradictory"
        return "correct" if score >= self.threshold else "incorrect"


def choose_rule(graded: list[tuple[float, bool]], gold: list[str]) -> Rule:
    """The rule with the best macro-F1 on these (training) answers."""
    rules = [Rule(t / 4, e) for t in range(1, 41) for e in (False, True)]
    return max(rules, key=lambda r: (macro_f1(gold, [r.label(s, e) for s, e in graded]), -r.threshold))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the folder with semeval-3way.zip")
    args = parser.parse_args()

    from interviewer import bank
    from interviewer.grading.offline import OfflineGrader

    work = Path(tempfile.mkdtemp(prefix="semeval-"))
    with zipfile.ZipFile(args.data / "semeval-3way.zip") as archive:
        archive.extractall(work / "data")
    rows, splits = read_data(work / "data")
    questions = bank.load([import_questions(rows, work)], builtin=False)
    known = {q.id for q in questions.questions}
    lost = sum(a.question not in known for split in splits for a in split.answers)
    print(f"  answers to skipped questions, not graded: {lost} of {sum(len(s.answers) for s in splits)}")
    points = [len(q.key_points) for q in questions.questions]
    print(f"  derived key points per question: median {statistics.median(points)}, max {max(points)}")

    grader = OfflineGrader()

    def grade(split: Split) -> tuple[list[tuple[float, bool]], list[str]]:
        answers = [a for a in split.answers if a.question in known]
        results = [grader.grade(questions.get(a.question), a.text) for a in answers]
        return [(g.score, bool(g.errors)) for g in results], [a.label for a in answers]

    rules = {}
    for split in splits:
        if split.name == "training":
            graded, gold = grade(split)
            rules[split.corpus] = choose_rule(graded, gold)
            rule = rules[split.corpus]
            print(
                f"{split.corpus} training ({len(gold)} answers): threshold {rule.threshold:g}, "
                f"errors mean contradictory: {'yes' if rule.errors_contradict else 'no'}; "
                f"macro-F1 {macro_f1(gold, [rule.label(s, e) for s, e in graded]):.3f}"
            )

    # The reference baselines, re-run here: each learns from a corpus's training answers alone.
    majority: dict[str, str] = {}
    trees: dict[str, J48] = {}
    for split in splits:
        if split.name == "training":
            labels = [a.label for a in split.answers]
            majority[split.corpus] = max(LABELS, key=labels.count)
            measured = [features(a.text, a.references, a.prompt) for a in split.answers]
            trees[split.corpus] = J48(measured, [LABELS.index(label) for label in labels], len(LABELS))
            print(
                f"{split.corpus} training ({len(labels)} answers): majority label {majority[split.corpus]}; "
                f"lexical-overlap tree of {trees[split.corpus].leaves()} leaves"
            )

    print()
    print("Baselines re-run here (not the task paper's published figures, which were not at hand):")
    columns = "  acc  m-F1  w-F1"
    print(f"{'':46}{'ours (offline grader)':27}{'majority label':18}lexical overlap (J48)")
    print(f"{'test split':32} {'graded':>11}  {columns} {'r':>6}   {columns} {columns}")
    everyone = []
    for split in splits:
        if split.name == "training":
            continue
        graded, gold = grade(split)
        predicted = [rules[split.corpus].label(s, e) for s, e in graded]
        tree = trees[split.corpus]
        overlap = [LABELS[tree.predict(features(a.text, a.references, a.prompt))] for a in split.answers]
        on_graded = [label for a, label in zip(split.answers, overlap, strict=True) if a.question in known]
        print(
            f"{split.corpus + ' ' + split.name:32} {f'{len(gold)}/{len(split.answers)}':>11}  "
            f"{figures(gold, predicted)} {correlation([s for s, _ in graded], gold):>6.3f}   "
            f"{figures(gold, [majority[split.corpus]] * len(gold))} {figures(gold, on_graded)}"
        )
        every = [a.label for a in split.answers]
        everyone.append(
            f"{split.corpus + ' ' + split.name:32} {len(every):>11}  {'':24}   "
            f"{figures(every, [majority[split.corpus]] * len(every))} {figures(every, overlap)}"
        )
    print("The baselines on every answer of each split (also those ours could not grade):")
    print("\n".join(everyone))
    if PUBLISHED:
        print("Published (Dzikovska et al. 2013):")
        for (corpus, name), text in PUBLISHED.items():
            print(f"  {corpus} {name}: {text}")


if __name__ == "__main__":
    main()
