#!/usr/bin/python3
"""Is the model built into Digit Lab the one docs/default-model.md promises?

Reads the embedded model (no --model) through `digitlab-cli info` and
`digitlab-cli eval --json`, and checks:

- it is the `default` preset (engine/nn-spec.c), and its metadata says
  what it is: the architecture,
  the exact command that trained it (`recipe`), the data it saw and the
  test accuracy measured when it was trained;
- that accuracy is reproduced now, on the 10,000 MNIST test images, and is
  at least 99.5%;
- the file stays small enough to embed: at most 2 MB;
- "Not sure" (nn_prediction_is_unsure, NN_UNSURE_THRESHOLD) stays rare on
  real handwriting: it withholds at most 0.5% of the test images, so the
  model's accuracy is not bought by holding answers back;
- and it catches scribbles: at least 60% of 200 random ones
  (tests/fixtures/scribbles.py, not the engine's training scribbles).

    test-default-model.py [PATH/TO/digitlab-cli]        (TAP on stdout)

MNIST comes from $DIGITLAB_MNIST_DIR; without it the accuracy check is
skipped, visibly.  The drawn-digit accuracy is test-strokes-accuracy.py's.
"""

import gzip
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
from scribbles import scribbles  # noqa: E402
from tap import Tap  # noqa: E402

MIN_ACCURACY = 0.995
MAX_FILE_BYTES = 2 * 1000 * 1000
MAX_UNSURE_RATE = 0.005
MIN_SCRIBBLE_UNSURE_RATE = 0.6   # measured: 80% of bench/unsure-threshold's 500
SCRIBBLES = 200
SCRIBBLE_SEED = 8128             # not bench/unsure-threshold's
TEST_IMAGES = 10000
TIMEOUT = 300


def run(cli, *args, stdin=None):
    proc = subprocess.run([cli, *args], input=stdin, capture_output=True, text=True, timeout=TIMEOUT)
    if proc.returncode != 0:
        raise AssertionError(f"digitlab-cli {' '.join(args)} exited with "
                             f"{proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout


def parse_info(text):
    """(architecture, {metadata key: value}) from `digitlab-cli info`."""
    architecture = None
    metadata = {}
    in_metadata = False
    for line in text.splitlines():
        if line.startswith("architecture: "):
            architecture = line[len("architecture: "):]
        elif line == "metadata:":
            in_metadata = True
        elif in_metadata and line.startswith("  ") and ": " in line:
            key, value = line.strip().split(": ", 1)
            metadata[key] = value
        elif not line.startswith(" "):
            in_metadata = False
    return architecture, metadata


def have_mnist(folder):
    return bool(folder) and any(
        os.path.exists(os.path.join(folder, "t10k-images-idx3-ubyte" + ext)) for ext in ("", ".gz"))


def mnist_labels(folder):
    """The test labels, in file order (IDX: 8 header bytes, then one byte
    per label)."""
    for name, opener in (("t10k-labels-idx1-ubyte.gz", gzip.open),
                         ("t10k-labels-idx1-ubyte", open)):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            with opener(path, "rb") as f:
                return list(f.read()[8:])
    return []


def file_metadata(path):
    """The __metadata__ of a safetensors file: a little-endian u64 header
    length, then the JSON header."""
    with open(path, "rb") as f:
        length = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(length)).get("__metadata__", {})


def default_preset(source_root):
    """The `default` preset's spec, as engine/nn-spec.c spells it."""
    with open(os.path.join(source_root, "engine", "nn-spec.c")) as f:
        match = re.search(r'\{\s*"default",\s*((?:"[^"]*"\s*)+),', f.read())
    return "".join(re.findall(r'"([^"]*)"', match.group(1))).strip() if match else None


def engine_constant(source_root, name):
    """A float #define of engine/nn.h."""
    with open(os.path.join(source_root, "engine", "nn.h")) as f:
        match = re.search(rf"#define {name} ([0-9.]+)f", f.read())
    return float(match.group(1)) if match else None


def unsure_rule(source_root):
    """NN_UNSURE_THRESHOLD and NN_UNSURE_TIE, as engine/nn.h defines them."""
    return engine_constant(source_root, "NN_UNSURE_THRESHOLD"), engine_constant(source_root, "NN_UNSURE_TIE")


def check_unsure(tap, probabilities, labels_right, rule):
    """The "not sure" rule of engine/nn-confidence.c on every test image:
    the top probability's share of the sum below the threshold, or a tie."""
    fires = right_held = 0
    for p, right in zip(probabilities, labels_right):
        if is_unsure(p, rule):
            fires += 1
            right_held += right
    count = len(probabilities)
    tap.diag(f"\"Not sure\" (below {rule[0]}, or a tie at {rule[1]}): {fires} of {count} test images "
             f"({100 * fires / max(count, 1):.2f}%), {right_held} of them read right")
    tap.result(count == TEST_IMAGES and fires <= MAX_UNSURE_RATE * count,
               f"\"not sure\" withholds at most {100 * MAX_UNSURE_RATE:g}% of the test images",
               f"{fires} of {count}")


def is_unsure(p, rule):
    """nn_prediction_is_unsure: the top digit's share below the threshold,
    or a second digit within the tie share of it."""
    threshold, tie = rule
    total = sum(p)
    first, second = sorted(p)[-1:-3:-1]
    return total <= 0 or first / total < threshold or second >= tie * first


def check_scribbles(tap, cli, rule):
    """Scribbles, no digit at all, through the canvas's path
    (predict --strokes): most must be "not sure"."""
    text = "".join(json.dumps(d) + "\n" for d in scribbles(SCRIBBLES, SCRIBBLE_SEED))
    try:
        answers = [json.loads(line) for line in run(cli, "predict", "--strokes", "-", stdin=text).splitlines()]
    except (AssertionError, subprocess.TimeoutExpired) as e:
        tap.result(False, "predict reads the scribbles", str(e))
        return
    fires = sum(is_unsure(a["probabilities"], rule) for a in answers if "probabilities" in a)
    rate = fires / max(len(answers), 1)
    tap.result(len(answers) == SCRIBBLES and rate >= MIN_SCRIBBLE_UNSURE_RATE,
               f"\"not sure\" catches {100 * rate:.1f}% of {SCRIBBLES} scribbles "
               f"(at least {100 * MIN_SCRIBBLE_UNSURE_RATE:g}%)", f"{fires} of {len(answers)}")


def check_metadata(tap, architecture, metadata, stored):
    # The engine keeps "arch" in the file itself rather than among the
    # metadata `info` lists; it must be the architecture info reports.
    tap.result(architecture is not None and stored.get("arch") == architecture,
               "the file's arch is the model's architecture",
               f"architecture {architecture!r}, file arch {stored.get('arch')!r}")

    recipe = metadata.get("recipe", "")
    tap.result(recipe.startswith("digitlab-cli train ") and "--arch default" in recipe,
               "metadata recipe is the digitlab-cli command that trained it (--arch default)",
               f"recipe {recipe!r}")
    # The recipe must agree with the settings recorded beside it, or it is
    # not the command that made this model.
    agreements = [("--epochs", "epochs"), ("--lr", "lr"), ("--batch", "batch"),
                  ("--seed", "seed"), ("--schedule", "schedule"),
                  ("--optimizer", "optimizer"), ("--weight-decay", "weight_decay"),
                  ("--label-smoothing", "label_smoothing"), ("--scribbles", "scribbles")]
    disagreements = []
    for option, key in agreements:
        match = re.search(re.escape(option) + r" (\S+)", recipe)
        if match and match.group(1) != metadata.get(key):
            disagreements.append(f"{option} {match.group(1)} but {key} {metadata.get(key)!r}")
    for option, key in (("--augment", "augment"), ("--digit-styles", "digit_styles")):
        if (option in recipe.split()) != (metadata.get(key) == "true"):
            disagreements.append(f"{option} {'in' if option in recipe.split() else 'not in'} the "
                                 f"recipe but {key} {metadata.get(key)!r}")
    tap.result(not disagreements, "the recipe agrees with the recorded settings",
               "; ".join(disagreements))

    tap.result(metadata.get("dataset") == "mnist" and metadata.get("train_images") == "60000"
               and metadata.get("test_images") == str(TEST_IMAGES),
               "trained on all of MNIST's training set, tested on all of its test set",
               f"dataset {metadata.get('dataset')!r}, train_images "
               f"{metadata.get('train_images')!r}, test_images {metadata.get('test_images')!r}")

    try:
        recorded = float(metadata.get("test_accuracy", "nan"))
    except ValueError:
        recorded = float("nan")
    tap.result(recorded >= MIN_ACCURACY, f"recorded test accuracy {recorded} >= {MIN_ACCURACY}",
               f"metadata test_accuracy {metadata.get('test_accuracy')!r}")
    return recorded


def main():
    tap = Tap()
    cli = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("DIGITLAB_CLI")
    if not cli or not os.access(cli, os.X_OK):
        tap.skip_all("no digitlab-cli program (pass its path or set DIGITLAB_CLI)")

    source_root = os.environ.get("DIGITLAB_SOURCE_ROOT")
    if not source_root:
        tap.skip_all("DIGITLAB_SOURCE_ROOT is not set: no resources/default.safetensors to read")
    path = os.path.join(source_root, "resources", "default.safetensors")
    size = os.path.getsize(path)
    tap.result(size <= MAX_FILE_BYTES, f"resources/default.safetensors is {size} bytes "
               f"<= {MAX_FILE_BYTES}", f"{size} bytes")

    try:
        architecture, metadata = parse_info(run(cli, "info"))
    except (AssertionError, subprocess.TimeoutExpired) as e:
        tap.result(False, "digitlab-cli info describes the built-in model", str(e))
        return tap.done()
    for key in sorted(metadata):
        tap.diag(f"{key}: {metadata[key]}")
    preset = default_preset(source_root)
    tap.result(preset is not None and architecture == preset,
               "the built-in model is the default preset",
               f"architecture {architecture!r}, default preset {preset!r}")
    recorded = check_metadata(tap, architecture, metadata, file_metadata(path))
    check_scribbles(tap, cli, unsure_rule(source_root))

    mnist = os.environ.get("DIGITLAB_MNIST_DIR", "")
    if not have_mnist(mnist):
        tap.skip("MNIST test accuracy >= 0.995", f"no MNIST test set in {mnist or '$DIGITLAB_MNIST_DIR (unset)'}")
        return tap.done()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "probabilities.jsonl")
        try:
            result = json.loads(run(cli, "eval", "--json", "--data", mnist,
                                    "--probabilities", path))
            with open(path) as f:
                probabilities = [json.loads(line) for line in f if line.strip()]
        except (AssertionError, subprocess.TimeoutExpired, json.JSONDecodeError, OSError) as e:
            tap.result(False, "digitlab-cli eval --json measures the built-in model", str(e))
            return tap.done()

    accuracy = result.get("accuracy", -1)
    confusion = result.get("confusion", [])
    tap.diag(f"MNIST test accuracy {accuracy:.4f} on {result.get('count')} images")
    for digit, row in enumerate(confusion):
        wrong = {read: n for read, n in enumerate(row) if read != digit and n}
        if wrong:
            tap.diag(f"  {digit} misread as {wrong}")
    tap.result(result.get("count") == TEST_IMAGES, f"evaluated on all {TEST_IMAGES} test images",
               f"count {result.get('count')}")
    tap.result(accuracy >= MIN_ACCURACY, f"MNIST test accuracy {accuracy:.4f} >= {MIN_ACCURACY}",
               f"accuracy {accuracy:.4f}")
    # The figure in the metadata is rounded to 4 decimals; one image is 1e-4.
    tap.result(abs(accuracy - recorded) <= 0.00005 + 1e-9,
               "the measured accuracy is the one recorded in the metadata",
               f"measured {accuracy:.4f}, recorded {recorded}")

    # Whether each image was read right: its top digit against its label
    # (eval writes the probabilities in the test set's order).
    labels = mnist_labels(mnist)
    right = [max(range(10), key=p.__getitem__) == label
             for p, label in zip(probabilities, labels)]
    rule = unsure_rule(source_root)
    if None in rule or len(labels) != len(probabilities):
        tap.result(False, "the \"not sure\" rule can be checked",
                   f"rule {rule}, {len(labels)} labels, "
                   f"{len(probabilities)} probabilities")
    else:
        check_unsure(tap, probabilities, right, rule)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
