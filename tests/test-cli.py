#!/usr/bin/python3
"""test-cli.py — digitlab-cli's behaviour as a user sees it.

Exit codes and one-line messages for usage errors, bad specs, impossible
hyper-parameters, missing data and corrupt model files; a small model
trained from the command line that info, eval and predict then read back;
eval's JSON and probabilities; predict on PNG files in both polarities and
with transparency; predict --strokes with good, empty and broken lines, from
a file and from standard input, in batches; and Ctrl+C during training
followed by --resume, which must give the very model an uninterrupted run
gives.

    test-cli.py PATH/TO/digitlab-cli        (TAP on stdout)

MNIST comes from $DIGITLAB_MNIST_DIR; without it the tests that need data
are skipped, visibly.
"""

import gzip
import json
import math
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import unittest_tap  # noqa: E402

CLI = os.environ.get("DIGITLAB_CLI", "")
MNIST_DIR = os.environ.get("DIGITLAB_MNIST_DIR", "")
TIMEOUT = 240


def run(*args, stdin=None, env=None):
    """(exit status, stdout, stderr) of digitlab-cli with @args."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run([CLI, *args], input=stdin, capture_output=True, text=True,
                          timeout=TIMEOUT, env=full_env)
    return proc.returncode, proc.stdout, proc.stderr


def have_mnist():
    return MNIST_DIR != "" and os.path.exists(os.path.join(MNIST_DIR, "t10k-images-idx3-ubyte.gz"))


def read_idx(name):
    with gzip.open(os.path.join(MNIST_DIR, name), "rb") as f:
        return f.read()


def mnist_test_image(index):
    """Test image @index as 28 rows of 28 bytes (0 = background), and its label."""
    images = read_idx("t10k-images-idx3-ubyte.gz")
    labels = read_idx("t10k-labels-idx1-ubyte.gz")
    pixels = images[16 + 784 * index:16 + 784 * (index + 1)]
    return [list(pixels[28 * r:28 * (r + 1)]) for r in range(28)], labels[8 + index]


def write_png(path, rows, channels):
    """A PNG of 8-bit @rows (lists of ints, @channels per pixel: 1 gray,
    3 RGB, 4 RGBA), with no library but zlib."""
    color_type = {1: 0, 3: 2, 4: 6}[channels]
    height = len(rows)
    width = len(rows[0]) // channels

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(row) for row in rows)   # filter type 0 on every row
    png = (b"\x89PNG\r\n\x1a\n"
           + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9))
           + chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(png)


def upscale(rows, factor):
    return [[v for v in row for _ in range(factor)] for row in rows for _ in range(factor)]


def assert_one_line_failure(test, status, stderr, expected_status=1):
    test.assertEqual(status, expected_status, stderr)
    lines = stderr.strip().splitlines()
    test.assertGreaterEqual(len(lines), 1)
    test.assertTrue(lines[0].startswith("digitlab-cli: "), stderr)
    if expected_status == 1:
        test.assertEqual(len(lines), 1, f"expected one line, got:\n{stderr}")
    else:
        test.assertEqual(len(lines), 2, stderr)
        test.assertIn("--help", lines[1])


# ---- No data needed ----------------------------------------------------------

class UsageTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.out = os.path.join(self.tmp.name, "m.safetensors")

    def tearDown(self):
        self.tmp.cleanup()

    def usage_error(self, *args):
        # Should a bad value slip through, fail at once for want of data
        # rather than train.
        status, out, err = run(*args, env={"DIGITLAB_MNIST_DIR": os.path.join(self.tmp.name, "none")})
        assert_one_line_failure(self, status, err, expected_status=2)
        self.assertEqual(out, "")
        return err.splitlines()[0]

    def test_no_command(self):
        status, _, err = run()
        self.assertEqual(status, 2)
        self.assertIn("train", err)

    def test_unknown_command(self):
        self.assertIn("frobnicate", self.usage_error("frobnicate"))

    def test_version(self):
        status, out, _ = run("--version")
        self.assertEqual(status, 0)
        self.assertRegex(out, r"^digitlab-cli \d+\.\d+\.\d+\n$")

    def test_help_of_every_command(self):
        for command, option in [("train", "--epochs"), ("eval", "--json"), ("predict", "--strokes"),
                                ("info", "--model")]:
            status, out, err = run(command, "--help")
            self.assertEqual(status, 0, err)
            self.assertIn(f"digitlab-cli {command}", out)
            self.assertIn(option, out)

    def test_unknown_option(self):
        self.assertIn("--bogus", self.usage_error("train", "--bogus", "--out", self.out))

    def test_out_is_required(self):
        self.assertIn("--out", self.usage_error("train"))

    def test_not_a_number(self):
        self.usage_error("train", "--epochs", "many", "--out", self.out)

    def test_stray_argument(self):
        self.assertIn("extra", self.usage_error("train", "--out", self.out, "extra"))

    def test_bad_spec_names_the_word(self):
        line = self.usage_error("train", "--arch", "conv5x5:16 relu wobble dense:10", "--out", self.out)
        self.assertIn("wobble", line)

    def test_spec_that_does_not_fit(self):
        # Five poolings take 28 pixels below one.
        self.usage_error("train", "--arch", "maxpool maxpool maxpool maxpool maxpool dense:10",
                         "--out", self.out)

    def test_impossible_hyper_parameters(self):
        for args in [("--epochs", "0"), ("--epochs", "-3"), ("--batch", "0"), ("--batch", "5000"),
                     ("--epochs", "1.5"), ("--lr", "0"), ("--lr", "-0.1"), ("--lr", "nan"),
                     ("--lr", "inf"), ("--lr", "1e-3x"),
                     ("--optimizer", "sgd", "--momentum", "1.5"),
                     ("--weight-decay", "-1"), ("--label-smoothing", "1"), ("--seed", "-1"),
                     ("--scribbles", "0.6"), ("--scribbles", "-0.1"), ("--scribbles", "some")]:
            with self.subTest(args=args):
                self.usage_error("train", *args, "--out", self.out)

    def test_digit_styles_need_augment(self):
        self.assertIn("--augment", self.usage_error("train", "--digit-styles", "--out", self.out))

    def test_unknown_optimizer_and_schedule(self):
        self.assertIn("rmsprop", self.usage_error("train", "--optimizer", "rmsprop", "--out", self.out))
        self.assertIn("sawtooth", self.usage_error("train", "--schedule", "sawtooth", "--out", self.out))

    def test_bad_limits_and_threads(self):
        self.usage_error("train", "--limit", "0", "--out", self.out)
        self.usage_error("train", "--test-limit", "-2", "--out", self.out)
        self.usage_error("train", "--threads", "-1", "--out", self.out)
        self.usage_error("eval", "--limit", "0")
        self.usage_error("predict", "--threads", "-2", "x.png")

    def test_resume_refuses_settings(self):
        line = self.usage_error("train", "--resume", "c.safetensors", "--epochs", "3", "--out", self.out)
        self.assertIn("--epochs", line)

    def test_checkpoint_is_not_the_output(self):
        self.usage_error("train", "--checkpoint", self.out, "--out", self.out)

    def test_predict_needs_input(self):
        self.usage_error("predict")
        self.usage_error("predict", "--strokes", "-", "a.png")

    def test_missing_data_dir(self):
        missing = os.path.join(self.tmp.name, "no-mnist-here")
        status, out, err = run("train", "--data", missing, "--arch", "mlp", "--out", self.out)
        assert_one_line_failure(self, status, err)
        self.assertIn(missing, err)
        self.assertIn("docs/mnist.md", err)
        self.assertFalse(os.path.exists(self.out))

    def test_default_data_dir_from_environment(self):
        missing = os.path.join(self.tmp.name, "from-env")
        status, _, err = run("train", "--arch", "mlp", "--out", self.out,
                             env={"DIGITLAB_MNIST_DIR": missing})
        assert_one_line_failure(self, status, err)
        self.assertIn(missing, err)

    def test_output_folder_missing(self):
        out = os.path.join(self.tmp.name, "no-such-folder", "m.safetensors")
        status, _, err = run("train", "--arch", "mlp", "--out", out)
        assert_one_line_failure(self, status, err)
        self.assertIn("no-such-folder", err)

    def test_output_that_is_not_a_regular_file(self):
        # Model files are renamed into place: that must never replace a
        # folder or a link (think of --out /dev/stdout run as root).
        link = os.path.join(self.tmp.name, "link.safetensors")
        os.symlink(self.out, link)
        for out in (self.tmp.name, link):
            status, _, err = run("train", "--arch", "mlp", "--out", out)
            assert_one_line_failure(self, status, err)
            self.assertIn("not a regular file", err)
        self.assertTrue(os.path.islink(link))

    def test_corrupt_model_files(self):
        header = json.dumps({"__metadata__": {"arch": "dense:10"},
                             "layers.0.weight": {"dtype": "F32", "shape": [10, 784],
                                                 "data_offsets": [0, 31360]}}).encode()
        cases = {
            "empty": b"",
            "random": bytes(range(256)) * 4,
            "huge-header-length": struct.pack("<Q", 1 << 40) + b"{}",
            "bad-json": struct.pack("<Q", 5) + b"{nope",
            "truncated-data": struct.pack("<Q", len(header)) + header + b"\0" * 100,
        }
        for name, data in cases.items():
            with self.subTest(case=name):
                path = os.path.join(self.tmp.name, name + ".safetensors")
                with open(path, "wb") as f:
                    f.write(data)
                for command in (["info"], ["eval", "--data", self.tmp.name], ["predict", "x.png"]):
                    status, out, err = run(*command, "--model", path)
                    assert_one_line_failure(self, status, err)
                    self.assertEqual(out, "")

    def test_missing_model_file(self):
        missing = os.path.join(self.tmp.name, "nothing.safetensors")
        status, _, err = run("info", "--model", missing)
        assert_one_line_failure(self, status, err)
        self.assertIn("nothing.safetensors", err)


# ---- A model trained here ----------------------------------------------------

TRAIN_LINE = re.compile(r"^epoch 1/1: loss (\d+\.\d{4}), train accuracy (0\.\d{4}|1\.0000), "
                        r"test accuracy (0\.\d{4}|1\.0000), (\d+\.\d) s$", re.M)
# A vertical bar and a seven, in canvas pixels.
ONE = {"width": 280, "height": 280, "strokes": [[[140, 40], [142, 140], [140, 240]]]}
SEVEN = {"width": 280, "height": 280,
         "strokes": [[[60, 50], [220, 50], [180, 120], [140, 190], [120, 250]]]}
EMPTY = {"width": 280, "height": 280, "strokes": []}


@unittest.skipUnless(have_mnist(), "MNIST not found in $DIGITLAB_MNIST_DIR")
class TrainedModelTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.model = os.path.join(cls.tmp.name, "small.safetensors")
        cls.train_status, cls.train_out, cls.train_err = run(
            "train", "--data", MNIST_DIR, "--arch", "mlp", "--limit", "2000", "--test-limit", "500",
            # A constant rate: 32 batches are too few to decay it.
            "--epochs", "1", "--schedule", "constant", "--seed", "3", "--name", "cli test",
            "--out", cls.model)
        if cls.train_status != 0:
            raise AssertionError(f"train failed ({cls.train_status}):\n{cls.train_err}")
        cls.probs_path = os.path.join(cls.tmp.name, "probs.jsonl")
        status, out, err = run("eval", "--model", cls.model, "--data", MNIST_DIR, "--limit", "500",
                               "--json", "--probabilities", cls.probs_path)
        if status != 0:
            raise AssertionError(f"eval failed ({status}):\n{err}")
        cls.eval = json.loads(out)
        with open(cls.probs_path) as f:
            cls.probs = [json.loads(line) for line in f]

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def tmp_path(self, name):
        return os.path.join(self.tmp.name, name)

    def train_and_describe(self, name, *options):
        """A small model trained with @options: what `info` says of it, and
        its recipe line."""
        model = self.tmp_path(name)
        status, _, err = run("train", "--data", MNIST_DIR, "--arch", "mlp", "--limit", "300",
                             "--test-limit", "0", *options, "--out", model)
        self.assertEqual(status, 0, err)
        status, out, err = run("info", "--model", model)
        self.assertEqual(status, 0, err)
        recipe = next(line for line in out.splitlines() if line.strip().startswith("recipe:"))
        return out, recipe

    def test_digit_styles_recorded(self):
        """Training with digit styles says so in the model's metadata and recipe."""
        out, recipe = self.train_and_describe("styles.safetensors", "--augment", "--digit-styles")
        self.assertIn("digit_styles: true", out)
        self.assertIn(" --augment --digit-styles ", recipe)
        status, out, err = run("info", "--model", self.model)
        self.assertIn("digit_styles: false", out)

    def test_scribbles_recorded(self):
        """Training with scribbles records their share in the metadata and recipe."""
        out, recipe = self.train_and_describe("scribbles.safetensors", "--scribbles", "0.25")
        self.assertIn("scribbles: 0.25", out)
        self.assertIn(" --scribbles 0.25 ", recipe)

    def predict_json(self, *args, **kwargs):
        status, out, err = run("predict", "--model", self.model, "--json", *args, **kwargs)
        return status, [json.loads(line) for line in out.splitlines()], err

    def check_answer(self, answer):
        self.assertIn(answer["digit"], range(10))
        probs = answer["probabilities"]
        self.assertEqual(len(probs), 10)
        self.assertAlmostEqual(sum(probs), 1.0, places=4)
        self.assertEqual(answer["confidence"], max(probs))
        self.assertEqual(probs.index(max(probs)), answer["digit"])

    def test_train_output(self):
        m = TRAIN_LINE.search(self.train_out)
        self.assertIsNotNone(m, self.train_out)
        self.assertGreater(float(m.group(3)), 0.80)
        self.assertIn(f"test accuracy: {m.group(3)}\n", self.train_out)
        self.assertIn(f"saved {self.model}", self.train_out)
        self.assertTrue(os.path.getsize(self.model) > 4 * 784 * 256)

    def test_info_reads_the_metadata_back(self):
        status, out, err = run("info", "--model", self.model)
        self.assertEqual(status, 0, err)
        test_accuracy = TRAIN_LINE.search(self.train_out).group(3)
        for line in ["format: digitlab-model 1 (safetensors)",
                     "input: 1x28x28 float32, 0 = background, 1 = ink, MNIST preprocessing",
                     "architecture: dense:256 relu dense:128 relu dense:10",
                     "parameters: 235146", "  name: cli test", "  dataset: mnist",
                     "  train_images: 2000", "  test_images: 500", "  epochs: 1",
                     "  optimizer: adam", "  lr: 0.001", "  batch: 64", "  seed: 3",
                     "  augment: false", f"  test_accuracy: {test_accuracy}"]:
            self.assertIn(line + "\n", out)
        self.assertRegex(out, r"\n  created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n")
        self.assertRegex(out, r"\n  train_seconds: \d+\.\d\n")
        self.assertIn(f"{os.path.getsize(self.model)} bytes", out)

    def test_eval_json(self):
        self.assertEqual(self.eval["count"], 500)
        confusion = self.eval["confusion"]
        self.assertEqual(len(confusion), 10)
        self.assertTrue(all(len(row) == 10 for row in confusion))
        self.assertEqual(sum(map(sum, confusion)), 500)
        correct = sum(confusion[i][i] for i in range(10))
        self.assertAlmostEqual(self.eval["accuracy"], correct / 500, places=12)
        # The same 500 images training tested on.
        self.assertEqual(f"{self.eval['accuracy']:.4f}", TRAIN_LINE.search(self.train_out).group(3))

    def test_eval_text(self):
        status, out, err = run("eval", "--model", self.model, "--data", MNIST_DIR, "--limit", "500")
        self.assertEqual(status, 0, err)
        self.assertIn(f"accuracy: {self.eval['accuracy']:.4f}\n", out)
        rows = re.findall(r"^\s+(\d)((?:\s+\d+){10})$", out, re.M)
        self.assertEqual([int(r[0]) for r in rows], list(range(10)))
        self.assertEqual([[int(v) for v in r[1].split()] for r in rows], self.eval["confusion"])
        self.assertRegex(out, r"true\\pred\s+0\s+1\s+2\s+3\s+4\s+5\s+6\s+7\s+8\s+9\n")

    def test_eval_probabilities_to_standard_output(self):
        status, out, err = run("eval", "--model", self.model, "--data", MNIST_DIR, "--limit", "3",
                               "--probabilities", "-", "--json")
        self.assertEqual(status, 0, err)
        lines = [json.loads(line) for line in out.splitlines()]
        self.assertEqual(lines[:3], self.probs[:3])
        self.assertEqual(lines[3]["count"], 3)

    def test_eval_probabilities(self):
        self.assertEqual(len(self.probs), 500)
        labels = read_idx("t10k-labels-idx1-ubyte.gz")[8:508]
        correct = 0
        for row, label in zip(self.probs, labels):
            self.assertEqual(len(row), 10)
            self.assertAlmostEqual(sum(row), 1.0, places=4)
            correct += row.index(max(row)) == label
        self.assertAlmostEqual(correct / 500, self.eval["accuracy"], places=12)

    def test_predict_png_in_every_polarity(self):
        # Test images the model is sure of: preprocessing an MNIST digit
        # again must not change the answer.
        confident = [i for i, row in enumerate(self.probs) if max(row) > 0.99][:6]
        self.assertGreaterEqual(len(confident), 3)
        files, expected = [], []
        for index in confident:
            rows, _ = mnist_test_image(index)
            big = upscale(rows, 4)
            variants = {
                "white-on-black": (big, 1),
                "black-on-white": ([[255 - v for v in row] for row in big], 1),
                "blue-on-cream": ([[c for v in row for c in (255 - v, 250 - v * 0.8, 235 - v * 0.3)]
                                   for row in big], 3),
                "ink-on-transparent": ([[c for v in row for c in (0, 0, 0, v)] for row in big], 4),
            }
            for name, (pixels, channels) in variants.items():
                path = self.tmp_path(f"mnist-{index}-{name}.png")
                write_png(path, [[int(round(v)) for v in row] for row in pixels], channels)
                files.append(path)
                expected.append(self.probs[index].index(max(self.probs[index])))

        status, answers, err = self.predict_json(*files)
        self.assertEqual(status, 0, err)
        self.assertEqual([a["file"] for a in answers], files)
        for answer, digit in zip(answers, expected):
            self.check_answer(answer)
            self.assertEqual(answer["digit"], digit, answer["file"])
        # Exact inverses, and ink as opacity, are the same ink up to rounding.
        for i in range(0, len(answers), 4):
            for j in (1, 3):
                for p, q in zip(answers[i]["probabilities"], answers[i + j]["probabilities"]):
                    self.assertAlmostEqual(p, q, delta=1e-5)

    def test_predict_text(self):
        rows, _ = mnist_test_image(0)
        path = self.tmp_path("text.png")
        write_png(path, rows, 1)
        status, out, err = run("predict", "--model", self.model, path)
        self.assertEqual(status, 0, err)
        self.assertRegex(out, r"^" + re.escape(path) + r": \d \((0\.\d\d|1\.00)\)  \[(\d\.\d{3} ){9}\d\.\d{3}\]\n$")

    def test_predict_bad_and_blank_images(self):
        good = self.tmp_path("good.png")
        blank = self.tmp_path("blank.png")
        broken = self.tmp_path("broken.png")
        write_png(good, mnist_test_image(1)[0], 1)
        write_png(blank, [[255] * 40 for _ in range(40)], 1)
        with open(broken, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\nnot really")
        status, answers, err = self.predict_json(broken, good, blank)
        self.assertEqual(status, 1)
        self.assertEqual([a["file"] for a in answers], [broken, good, blank])
        self.assertIsNone(answers[0]["digit"])
        self.check_answer(answers[1])
        self.assertIsNone(answers[2]["digit"])
        self.assertIn("error", answers[2])
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 2, err)
        self.assertTrue(lines[0].startswith(f"digitlab-cli: {broken}: "))
        self.assertTrue(lines[1].startswith(f"digitlab-cli: {blank}: "))

    def write_strokes(self, name, lines):
        path = self.tmp_path(name)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def test_strokes_good_empty_and_broken_lines(self):
        lines = [json.dumps(ONE), json.dumps(EMPTY), "{\"width\": 280, \"height\":", "",
                 json.dumps(SEVEN), "[1, 2, 3]", json.dumps({"width": 0, "height": 10, "strokes": []}),
                 json.dumps(ONE)]
        path = self.write_strokes("mixed.jsonl", lines)
        status, out, err = run("predict", "--model", self.model, "--strokes", path)
        self.assertEqual(status, 0, err)
        answers = [json.loads(line) for line in out.splitlines()]
        # One answer per non-blank line, in order; errors name their line.
        self.assertEqual(len(answers), 7)
        for answer in (answers[0], answers[3], answers[6]):
            self.check_answer(answer)
            self.assertNotIn("file", answer)
        self.assertEqual(answers[0], answers[6])
        for answer, line_number in zip((answers[1], answers[2], answers[4], answers[5]), (2, 3, 6, 7)):
            self.assertIsNone(answer["digit"])
            self.assertTrue(answer["error"].startswith(f"line {line_number}: "), answer)
            self.assertNotIn("probabilities", answer)

        status, out_stdin, err = run("predict", "--model", self.model, "--strokes", "-",
                                     stdin="\n".join(lines) + "\n")
        self.assertEqual(status, 0, err)
        self.assertEqual(out_stdin, out)

    def test_strokes_in_batches(self):
        # More lines than one forward pass holds, errors among them: every
        # answer must be the one the drawing gets on its own.
        single = {}
        for name, drawing in (("one", ONE), ("seven", SEVEN)):
            _, out, _ = run("predict", "--model", self.model, "--strokes", "-",
                            stdin=json.dumps(drawing))
            single[name] = json.loads(out)
        lines, expected = [], []
        for i in range(700):
            if i % 97 == 5:
                lines.append(json.dumps(EMPTY))
                expected.append(None)
            else:
                name = "one" if i % 3 else "seven"
                lines.append(json.dumps(ONE if name == "one" else SEVEN))
                expected.append(single[name])
        path = self.write_strokes("many.jsonl", lines)
        status, out, err = run("predict", "--model", self.model, "--strokes", path)
        self.assertEqual(status, 0, err)
        answers = [json.loads(line) for line in out.splitlines()]
        self.assertEqual(len(answers), 700)
        for i, (answer, want) in enumerate(zip(answers, expected)):
            if want is None:
                self.assertEqual(answer["digit"], None)
                self.assertTrue(answer["error"].startswith(f"line {i + 1}: "))
            else:
                self.assertEqual(answer, want, f"line {i + 1}")

    def test_strokes_answers_as_it_reads(self):
        # A program feeding one drawing at a time gets each answer before
        # sending the next.
        proc = subprocess.Popen([CLI, "predict", "--model", self.model, "--strokes", "-"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            for drawing in (ONE, SEVEN, EMPTY):
                proc.stdin.write(json.dumps(drawing) + "\n")
                proc.stdin.flush()
                answer = json.loads(proc.stdout.readline())
                self.assertIn("digit", answer)
        finally:
            proc.stdin.close()
            proc.wait(timeout=TIMEOUT)
        self.assertEqual(proc.returncode, 0)

    def test_missing_strokes_file(self):
        status, _, err = run("predict", "--model", self.model, "--strokes", self.tmp_path("none.jsonl"))
        assert_one_line_failure(self, status, err)
        self.assertIn("none.jsonl", err)


# ---- Ctrl+C and --resume -------------------------------------------------------

@unittest.skipUnless(have_mnist(), "MNIST not found in $DIGITLAB_MNIST_DIR")
class InterruptTests(unittest.TestCase):
    SETTINGS = ["--data", MNIST_DIR, "--arch", "mlp", "--limit", "6000", "--test-limit", "300",
                "--epochs", "3", "--seed", "11", "--lr", "0.002", "--schedule", "cosine"]

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def probabilities(self, model):
        out_path = self.path(os.path.basename(model) + ".jsonl")
        status, _, err = run("eval", "--model", model, "--data", MNIST_DIR, "--limit", "300",
                             "--probabilities", out_path)
        self.assertEqual(status, 0, err)
        with open(out_path) as f:
            return f.read()

    def test_ctrl_c_then_resume_equals_an_uninterrupted_run(self):
        whole = self.path("whole.safetensors")
        status, _, err = run("train", *self.SETTINGS, "--out", whole)
        self.assertEqual(status, 0, err)

        out = self.path("resumed.safetensors")
        checkpoint = self.path("run.ckpt")
        proc = subprocess.Popen([CLI, "train", *self.SETTINGS, "--checkpoint", checkpoint,
                                 "--out", out],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # Stop as soon as the first epoch ends: its checkpoint is kept
            # whether the signal lands at the boundary or in the second epoch.
            lines = []
            while not any(line.startswith("epoch 1/3:") for line in lines):
                line = proc.stdout.readline()
                self.assertNotEqual(line, "", "training ended before its first epoch line")
                lines.append(line)
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
        self.assertEqual(proc.returncode, 130, err)
        message = [line for line in err.splitlines() if line.startswith("digitlab-cli: ")]
        self.assertEqual(len(message), 1, err)
        self.assertIn("no model saved", message[0])
        self.assertIn(checkpoint, message[0])
        self.assertFalse(os.path.exists(out))
        self.assertEqual([f for f in os.listdir(self.tmp.name) if f not in ("whole.safetensors", "run.ckpt")],
                         [], "a temporary file was left behind")

        status, resumed_out, err = run("train", "--data", MNIST_DIR, "--limit", "6000",
                                       "--test-limit", "300", "--resume", checkpoint,
                                       "--checkpoint", checkpoint, "--out", out)
        self.assertEqual(status, 0, err)
        self.assertIn("epoch 3/3:", resumed_out)
        self.assertNotIn("epoch 1/3:", resumed_out)
        self.assertEqual(self.probabilities(out), self.probabilities(whole))

        status, info, _ = run("info", "--model", out)
        self.assertEqual(status, 0)
        for line in ("epochs: 3", "seed: 11", "lr: 0.002", "schedule: cosine", "name: resumed"):
            self.assertIn(line, info)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        CLI = sys.argv.pop(1)
    if not CLI:
        print("usage: test-cli.py PATH/TO/digitlab-cli", file=sys.stderr)
        sys.exit(2)
    sys.exit(unittest_tap.main())
