"""Check the port of the SemEval lexical-overlap baseline against Weka's own J48 (and, if given, the
organisers' Perl features).

    python benchmarks/semeval_weka_check.py [--weka /usr/share/java/weka.jar] [--arff DIR]

Needs Java and Weka 3.6 (Debian's `weka` package); it is a check of semeval_baseline.py, not part
of the benchmark. For each corpus it writes the training and test features as ARFF files, trains
Weka's J48 with default options, and compares Weka's label for every test answer, and its tree's
size, with the port's. With --arff, a folder of the ARFF files the Perl feature script wrote
(ashudeep/Student-Response-Analysis keeps three, for Beetle, in semevalFormatProcessing-3way/),
every row there is compared with the port's features.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
import zipfile
from pathlib import Path

from semeval import DATA, LABELS, Answer, read_data  # benchmarks/ is on sys.path when a script runs
from semeval_baseline import J48, features

NAMES = "overlap F lesk cosine questionOverlap questionF questionLesk questionCosine".split()


def write_arff(answers: list[Answer], path: Path) -> None:
    lines = ["@RELATION accuracy", *(f"@ATTRIBUTE {n} NUMERIC" for n in NAMES)]
    lines += ["@ATTRIBUTE accuracy {" + ",".join(LABELS) + "}", "@DATA"]
    for a in answers:
        lines.append(",".join(f"{v:.15g}" for v in features(a.text, a.references, a.prompt)) + "," + a.label)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def weka(jar: Path, *args: str) -> str:
    command = ["java", "-cp", str(jar), "weka.classifiers.trees.J48", *args]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the folder with semeval-3way.zip")
    parser.add_argument("--weka", type=Path, default=Path("/usr/share/java/weka.jar"))
    parser.add_argument("--arff", type=Path, help="a folder of ARFF files the Perl script wrote")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="semeval-weka-"))
    with zipfile.ZipFile(args.data / "semeval-3way.zip") as archive:
        archive.extractall(work / "data")
    _, splits = read_data(work / "data")
    training = {s.corpus: s for s in splits if s.name == "training"}
    for corpus, train in training.items():
        write_arff(train.answers, work / f"{corpus}-training.arff")
        tree = J48(
            [features(a.text, a.references, a.prompt) for a in train.answers],
            [LABELS.index(a.label) for a in train.answers],
            len(LABELS),
        )
        theirs = re.search(
            r"Number of Leaves\s*:\s*(\d+)",
            weka(args.weka, "-t", str(work / f"{corpus}-training.arff"), "-no-cv"),
        )
        print(f"{corpus}: leaves, Weka {theirs and theirs.group(1)}, port {tree.leaves()}")
        for split in splits:
            if split.corpus != corpus or split.name == "training":
                continue
            test = work / f"{corpus}-{split.name}.arff"
            write_arff(split.answers, test)
            out = weka(args.weka, "-t", str(work / f"{corpus}-training.arff"), "-T", str(test), "-p", "0")
            # Weka cuts the labels short in this listing; their index (from 1) is whole.
            labels = [
                int(line.split()[2].split(":")[0]) - 1
                for line in out.splitlines()
                if re.match(r"\s*\d+\s", line)
            ]
            mine = [tree.predict(features(a.text, a.references, a.prompt)) for a in split.answers]
            same = sum(w == m for w, m in zip(labels, mine, strict=True))
            print(f"  {split.name}: the same label for {same} of {len(mine)} answers")

    if args.arff:
        ours = {a.id: a for split in splits for a in split.answers}
        for path in sorted(args.arff.glob("*.arff")):
            rows = [line.split(",") for line in path.read_text().splitlines() if line and line[0] != "@"]
            same = sum(
                r[0] in ours
                and tuple(float(v) for v in r[1:9])
                == features(ours[r[0]].text, ours[r[0]].references, ours[r[0]].prompt)
                for r in rows
            )
            print(f"{path.name}: the same 8 features for {same} of {len(rows)} answers")


if __name__ == "__main__":
    main()
