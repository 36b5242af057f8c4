#!/usr/bin/python3
"""test-reference-forward.py — the engine and an independent NumPy reader
agree on what a saved model computes.

Trains two small models with digitlab-cli (bench-cnn, and a spec using every
kind of layer: same and valid convolutions, batch norm on channels and on
features, dropout, pooling, dense), asks the engine for the probabilities
of the first 300 MNIST test images (eval --probabilities), runs
reference_forward.py's own forward pass on the same images from the same
file, and requires the same digit for every image and probabilities within
1e-4. Any disagreement in the file format, tensor layout, padding,
flattening order or batch-norm arithmetic shows up here.

    test-reference-forward.py PATH/TO/digitlab-cli      (TAP on stdout)
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_forward  # noqa: E402
import unittest_tap  # noqa: E402

CLI = os.environ.get("DIGITLAB_CLI", "")
MNIST_DIR = os.environ.get("DIGITLAB_MNIST_DIR", "")
N_IMAGES = 300
TOLERANCE = 1e-4
EVERY_LAYER = ("conv3x3:8 batchnorm relu conv5x5:12:valid relu maxpool "
               "conv3x3:16:valid relu maxpool dense:32 batchnorm relu dropout:0.25 dense:10")


def test_images_path():
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte"):
        path = os.path.join(MNIST_DIR, name)
        if os.path.exists(path):
            return path
    return None


@unittest.skipUnless(MNIST_DIR and test_images_path(), "MNIST not found in $DIGITLAB_MNIST_DIR")
class ReferenceForwardTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.images = reference_forward.read_idx_images(test_images_path(), N_IMAGES)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def cli(self, *args):
        proc = subprocess.run([CLI, *args], capture_output=True, text=True, timeout=600)
        self.assertEqual(proc.returncode, 0, f"digitlab-cli {' '.join(args)}:\n{proc.stderr}")
        return proc.stdout

    def check_agreement(self, name, arch, limit):
        model_path = os.path.join(self.tmp.name, name + ".safetensors")
        probs_path = os.path.join(self.tmp.name, name + ".jsonl")
        self.cli("train", "--data", MNIST_DIR, "--arch", arch, "--limit", str(limit),
                 "--test-limit", "0", "--epochs", "1", "--seed", "5", "--out", model_path)
        self.cli("eval", "--model", model_path, "--data", MNIST_DIR, "--limit", str(N_IMAGES),
                 "--probabilities", probs_path)
        with open(probs_path) as f:
            engine = np.array([json.loads(line) for line in f])

        model = reference_forward.Model(model_path)
        numpy = model.forward(self.images)

        self.assertEqual(engine.shape, (N_IMAGES, 10))
        self.assertEqual(numpy.shape, (N_IMAGES, 10))
        # A trained model, far from a uniform guess (0.1): the comparison has teeth.
        self.assertGreater(engine.max(axis=1).mean(), 0.3)
        mismatched = np.flatnonzero(engine.argmax(axis=1) != numpy.argmax(axis=1))
        self.assertEqual(mismatched.tolist(), [], "images where the digits differ")
        worst = np.abs(engine - numpy).max()
        print(f"# {name}: max |p_engine - p_numpy| = {worst:.2e} over {N_IMAGES} images", flush=True)
        self.assertLess(worst, TOLERANCE)

    def test_bench_cnn(self):
        self.check_agreement("bench-cnn", "bench-cnn", 3000)

    def test_every_layer_kind(self):
        self.check_agreement("every-layer", EVERY_LAYER, 3000)


class ReaderTests(unittest.TestCase):
    """The reader itself, on a file it writes by hand: a wrong reader could
    otherwise agree with a wrong engine."""

    def write(self, path, tensors, arch):
        header, blobs, offset = {"__metadata__": {"arch": arch}}, [], 0
        for name, array in tensors.items():
            data = np.ascontiguousarray(array, dtype="<f4").tobytes()
            header[name] = {"dtype": "F32", "shape": list(array.shape),
                            "data_offsets": [offset, offset + len(data)]}
            blobs.append(data)
            offset += len(data)
        text = json.dumps(header).encode()
        with open(path, "wb") as f:
            f.write(len(text).to_bytes(8, "little") + text + b"".join(blobs))

    def test_known_answer(self):
        # A 3x3 "same" convolution of a single lit pixel copies the kernel
        # around it; max-pooling and a dense layer that picks two pixels
        # then give known logits.
        kernel = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
        dense = np.zeros((10, 14 * 14), dtype=np.float32)
        dense[3, 0] = 1.0      # pooled pixel (0, 0): max over image (0..1, 0..1)
        dense[7, 15] = 2.0     # pooled pixel (1, 1): max over image (2..3, 2..3)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "known.safetensors")
            self.write(path, {"layers.0.weight": kernel, "layers.0.bias": np.array([0.5], np.float32),
                              "layers.2.weight": dense, "layers.2.bias": np.zeros(10, np.float32)},
                       "conv3x3:1 maxpool dense:10")
            model = reference_forward.Model(path)
        image = np.zeros((1, 28, 28), dtype=np.float32)
        image[0, 1, 1] = 1.0
        # Output (y, x) = bias + kernel[1 + 1 - y, 1 + 1 - x] (cross-correlation).
        # Pooled (0, 0) covers y, x in 0..1: largest kernel[2 - y][2 - x] is 8 at (0, 0).
        # Pooled (1, 1) covers y, x in 2..3: only (2, 2) touches the pixel, kernel[0][0] = 0.
        logits = np.full(10, 0.0)
        logits[3] = 8.5
        logits[7] = 2.0 * 0.5
        expected = np.exp(logits - logits.max())
        expected /= expected.sum()
        np.testing.assert_allclose(model.forward(image)[0], expected, rtol=1e-12)

    def test_valid_padding_and_batchnorm(self):
        layers = reference_forward.parse_spec("conv5x5:2:valid, bn, relu, fc:10")
        self.assertEqual(layers[0], ("conv", 5, 2, "valid"))
        self.assertEqual(layers[1], ("batchnorm",))
        x = np.array([[[[1.0, 3.0]], [[5.0, 7.0]]]])          # [1, 2, 1, 2]
        y = reference_forward.batchnorm(x, np.array([1.0, 2.0]), np.array([0.0, 1.0]),
                                        np.array([2.0, 6.0]), np.array([4.0, 1.0]))
        eps = reference_forward.BATCHNORM_EPS
        np.testing.assert_allclose(y[0, 0, 0], (np.array([1.0, 3.0]) - 2.0) / np.sqrt(4.0 + eps))
        np.testing.assert_allclose(y[0, 1, 0], 2.0 * (np.array([5.0, 7.0]) - 6.0) / np.sqrt(1.0 + eps) + 1.0)

    def test_rejects_a_missing_tensor(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "bad.safetensors")
            self.write(path, {"layers.0.weight": np.zeros((10, 784), np.float32)}, "dense:10")
            with self.assertRaises(reference_forward.FormatError):
                reference_forward.Model(path)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        CLI = sys.argv.pop(1)
    sys.exit(unittest_tap.main())
