#!/usr/bin/python3
"""Does the embedded default model read machine-drawn digits?

Generates a fixed set of Hershey drawings (10 styles x 10 digits x 5
variations), runs `digitlab-cli predict --strokes` on them with no --model,
checks every answer against the CLI's output contract, and asserts that at
least 98% are right, printing accuracy per style and per digit and the
confusions.  Also checks that an empty drawing is answered with digit null
and an error.  TAP output.

    test-strokes-accuracy.py [PATH/TO/digitlab-cli] [--model FILE]

The CLI defaults to $DIGITLAB_CLI; --model tries another model than the
embedded one.

Misread drawings are kept in <build>/tests/artifacts/strokes-misread.jsonl
(+ .labels) for tests/fixtures/contact-sheet.py.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
import hershey  # noqa: E402
from tap import Tap  # noqa: E402

SEED = 20240611
COUNT_PER_DIGIT = 5
MIN_ACCURACY = 0.98
CLI_TIMEOUT = 300


def run_predict(cli, jsonl_path, model=None):
    """The CLI's answers, one parsed object per output line."""
    proc = subprocess.run([cli, "predict", *(["--model", model] if model else []),
                           "--strokes", jsonl_path],
                          capture_output=True, text=True, timeout=CLI_TIMEOUT)
    if proc.returncode != 0:
        raise AssertionError(f"digitlab-cli predict exited with {proc.returncode}:\n{proc.stderr}")
    answers = []
    for n, line in enumerate(proc.stdout.splitlines(), 1):
        if not line.strip():
            continue
        try:
            answers.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise AssertionError(f"output line {n} is not JSON ({e}): {line[:200]}")
    return answers


def contract_problem(answer):
    """Why @answer breaks the predict output contract, or None."""
    digit = answer.get("digit")
    if digit is None:
        return None if isinstance(answer.get("error"), str) and answer["error"] else \
            "digit null without an error message"
    probs = answer.get("probabilities")
    if not isinstance(digit, int) or not 0 <= digit <= 9:
        return f"digit {digit!r} is not 0..9"
    if not isinstance(probs, list) or len(probs) != 10:
        return "probabilities is not a list of 10"
    if not all(isinstance(p, (int, float)) and math.isfinite(p) and 0 <= p <= 1 for p in probs):
        return "a probability is outside [0, 1]"
    if abs(sum(probs) - 1) > 1e-3:
        return f"probabilities sum to {sum(probs)}"
    if probs[digit] != max(probs):
        return f"digit {digit} is not the most probable"
    if abs(answer.get("confidence", -1) - probs[digit]) > 1e-4:
        return f"confidence {answer.get('confidence')} differs from p[digit] {probs[digit]}"
    return None


def report_accuracy(tap, labels, answers):
    right = {}
    total = {}
    confusions = {}
    for (digit, style), answer in zip(labels, answers):
        for key in (("style", style), ("digit", digit)):
            total[key] = total.get(key, 0) + 1
            right[key] = right.get(key, 0) + (answer.get("digit") == digit)
        if answer.get("digit") != digit:
            pair = (digit, answer.get("digit"))
            confusions[pair] = confusions.get(pair, 0) + 1

    n_right = sum(a.get("digit") == d for (d, _), a in zip(labels, answers))
    accuracy = n_right / len(labels)
    tap.diag(f"accuracy {accuracy:.4f} ({n_right}/{len(labels)})")
    for kind in ("style", "digit"):
        for key in sorted(k for k in total if k[0] == kind):
            tap.diag(f"  {kind} {key[1]!s:16} {right[key] / total[key]:.3f} ({right[key]}/{total[key]})")
    if confusions:
        tap.diag("confusion matrix (row: drawn, column: read; - is no digit):")
        tap.diag("       " + " ".join(f"{c:>4}" for c in [*range(10), "-"]))
        for drawn in range(10):
            cells = [confusions.get((drawn, read), 0) if read != drawn else
                     right.get(("digit", drawn), 0) for read in [*range(10), None]]
            tap.diag(f"  {drawn}    " + " ".join(f"{c:>4}" for c in cells))
        tap.diag("most frequent confusions (drawn -> read: count):")
        for (drawn, read), count in sorted(confusions.items(), key=lambda kv: -kv[1])[:10]:
            tap.diag(f"  {drawn} -> {read}: {count}")
    return accuracy


def keep_misread(drawings, labels, answers):
    build = os.environ.get("DIGITLAB_BUILD_ROOT")
    if not build:
        return None
    folder = os.path.join(build, "tests", "artifacts")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "strokes-misread.jsonl")
    misread = [(d, digit, style) for d, (digit, style), a in zip(drawings, labels, answers)
               if a.get("digit") != digit]
    hershey.write_fixtures(misread, path, os.path.splitext(path)[0] + ".labels")
    return path


def main():
    tap = Tap()
    parser = argparse.ArgumentParser(description="Default model vs machine-drawn digits (TAP).")
    parser.add_argument("cli", nargs="?", default=os.environ.get("DIGITLAB_CLI"),
                        help="the digitlab-cli program (default: $DIGITLAB_CLI)")
    parser.add_argument("--model", help="a model file instead of the embedded default")
    args = parser.parse_args()
    cli = args.cli
    if not cli or not os.access(cli, os.X_OK):
        tap.skip_all("no digitlab-cli program (pass its path or set DIGITLAB_CLI)")
    # The fixtures are part of the suite, not an extra: without the fonts
    # the drawn-digit accuracy would go unchecked, so that fails.
    try:
        hershey.font_digits("futural")
    except hershey.FixtureError as e:
        tap.result(False, "the Hershey fonts for the drawn digits are installed", str(e))
        return tap.done()

    items = list(hershey.generate(COUNT_PER_DIGIT, SEED, hershey.DEFAULT_STYLES))
    drawings = [d for d, _, _ in items]
    labels = [(digit, style) for _, digit, style in items]

    with tempfile.TemporaryDirectory(prefix="digitlab-strokes-") as tmp:
        fixtures = os.path.join(tmp, "fixtures.jsonl")
        hershey.write_fixtures(items, fixtures, os.path.join(tmp, "fixtures.labels"))
        try:
            answers = run_predict(cli, fixtures, args.model)
        except (AssertionError, subprocess.TimeoutExpired) as e:
            tap.result(False, "predict reads the fixtures", str(e))
            return tap.done()

        tap.result(len(answers) == len(drawings), "one answer per drawing",
                   f"{len(drawings)} drawings, {len(answers)} answers")
        problems = [(i, p) for i, p in ((i, contract_problem(a)) for i, a in enumerate(answers)) if p]
        tap.result(not problems, "answers follow the output contract",
                   "\n".join(f"line {i + 1}: {p}" for i, p in problems[:10]))
        nulls = [i + 1 for i, a in enumerate(answers) if a.get("digit") is None]
        tap.result(not nulls, "every drawing gets a digit",
                   f"digit null on lines {nulls[:20]}: {answers[nulls[0] - 1] if nulls else ''}")

        if len(answers) == len(drawings):
            accuracy = report_accuracy(tap, labels, answers)
            kept = keep_misread(drawings, labels, answers)
            if kept and accuracy < 1:
                tap.diag(f"misread drawings kept in {kept}")
            tap.result(accuracy >= MIN_ACCURACY,
                       f"accuracy {accuracy:.4f} >= {MIN_ACCURACY}",
                       f"accuracy {accuracy:.4f} is below {MIN_ACCURACY}")

        # The error path: nothing drawn is not a digit, and says why.  A
        # drawing after it shows one bad line does not end the run.
        empty = os.path.join(tmp, "empty.jsonl")
        with open(empty, "w") as f:
            f.write(json.dumps({"width": 280, "height": 280, "strokes": []}) + "\n")
            f.write(hershey.drawing_to_json(hershey.make_drawing(1, "futural", seed=SEED)) + "\n")
        try:
            answers = run_predict(cli, empty, args.model)
        except (AssertionError, subprocess.TimeoutExpired) as e:
            tap.result(False, "predict answers an empty drawing", str(e))
            return tap.done()
        first = answers[0] if answers else {}
        tap.result(len(answers) == 2 and first.get("digit", 0) is None
                   and isinstance(first.get("error"), str) and first["error"] != "",
                   "an empty drawing gives digit null and an error",
                   f"answers: {answers}")
        tap.result(len(answers) == 2 and contract_problem(answers[1]) is None
                   and answers[1].get("digit") is not None,
                   "the drawing after an empty one still gets a digit",
                   f"answers: {answers}")
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
