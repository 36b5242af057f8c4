#!/usr/bin/python3
"""reference_forward.py — an independent reader of Digit Lab model files.

Written from the published formats, not from the engine's C code, so that
agreeing with the engine means something:

- safetensors: an 8-byte little-endian header length N, N bytes of JSON
  mapping each tensor name to {"dtype", "shape", "data_offsets": [begin,
  end]} (offsets into the data that follows the header) plus a
  "__metadata__" object of strings; tensors are little-endian, row-major.
- the architecture spec in __metadata__["arch"] (engine/nn.h): layers
  separated by spaces or commas, from a 1x28x28 image to 10 logits, with
  softmax implied at the end:
    convKxK:C[:same|valid]   weight [C, C_in, K, K], bias [C]; "same" pads
                             (K-1)/2 zeros on each side, stride 1
    maxpool | pool           2x2 windows, stride 2 (odd edges dropped)
    dense:N | fc:N           weight [N, inputs], bias [N]; flattens C, H, W
    relu
    dropout:P                identity when predicting
    batchnorm | bn           weight, bias, running_mean, running_var per
                             channel (or feature); eps 1e-5 as in PyTorch
  Layer i's tensors are named "layers.<i>.<name>" (PyTorch's Sequential).

Needs only NumPy (Debian's python3-numpy). As a program:

    reference_forward.py MODEL.safetensors IMAGES-idx3-ubyte[.gz] [COUNT]

prints one JSON array of ten probabilities per image.
"""

import gzip
import json
import math
import re
import struct
import sys

import numpy as np

BATCHNORM_EPS = 1e-5
IMAGE_SIDE = 28
CLASSES = 10
# Images per chunk of the convolution's patch matrix: bounds its memory.
CHUNK = 32


class FormatError(Exception):
    """The file is not a model this reader understands."""


# ---- safetensors ------------------------------------------------------------

def read_safetensors(path):
    """Returns (tensors as float32 arrays by name, metadata dict)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise FormatError("shorter than the 8-byte header length")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > len(data) - 8:
        raise FormatError(f"header length {header_len} runs past the end of the file")
    header = json.loads(data[8:8 + header_len].decode("utf-8"))
    if not isinstance(header, dict):
        raise FormatError("header is not a JSON object")
    body = memoryview(data)[8 + header_len:]
    metadata = header.pop("__metadata__", {}) or {}

    tensors = {}
    for name, entry in header.items():
        if entry.get("dtype") != "F32":
            raise FormatError(f"{name}: dtype {entry.get('dtype')}, expected F32")
        shape = tuple(int(d) for d in entry["shape"])
        begin, end = (int(x) for x in entry["data_offsets"])
        count = math.prod(shape)
        if not 0 <= begin <= end <= len(body) or end - begin != 4 * count:
            raise FormatError(f"{name}: data_offsets {begin}..{end} do not fit shape {shape}")
        tensors[name] = np.frombuffer(body[begin:end], dtype="<f4").reshape(shape)
    return tensors, metadata


# ---- the architecture spec ----------------------------------------------------

def parse_spec(spec):
    """A list of (kind, parameters) tuples, one per layer."""
    layers = []
    for word in re.split(r"[\s,]+", spec.strip()):
        if not word:
            continue
        parts = word.lower().split(":")
        m = re.fullmatch(r"conv(\d+)x(\d+)", parts[0])
        if m and m.group(1) == m.group(2) and len(parts) in (2, 3):
            padding = parts[2] if len(parts) == 3 else "same"
            if padding not in ("same", "valid"):
                raise FormatError(f"{word}: padding must be same or valid")
            layers.append(("conv", int(m.group(1)), int(parts[1]), padding))
        elif parts[0] in ("maxpool", "pool") and len(parts) == 1:
            layers.append(("maxpool",))
        elif parts[0] in ("dense", "fc") and len(parts) == 2:
            layers.append(("dense", int(parts[1])))
        elif parts[0] == "relu" and len(parts) == 1:
            layers.append(("relu",))
        elif parts[0] == "dropout" and len(parts) == 2:
            layers.append(("dropout", float(parts[1])))
        elif parts[0] in ("batchnorm", "bn") and len(parts) == 1:
            layers.append(("batchnorm",))
        else:
            raise FormatError(f"unknown layer {word!r} (a preset name is not expanded here)")
    return layers


# ---- layers --------------------------------------------------------------------

def conv2d(x, weight, bias, padding):
    """x [N, C, H, W] -> [N, O, H', W'], as a patch matrix times the weights."""
    out_channels, in_channels, k, _ = weight.shape
    if x.shape[1] != in_channels:
        raise FormatError(f"conv weight expects {in_channels} channels, gets {x.shape[1]}")
    if padding == "same":
        p = (k - 1) // 2
        x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    n, _, h, w = x.shape
    oh, ow = h - k + 1, w - k + 1
    kernel = weight.reshape(out_channels, -1).T           # [C*K*K, O]
    out = np.empty((n, out_channels, oh, ow))
    for start in range(0, n, CHUNK):
        windows = np.lib.stride_tricks.sliding_window_view(x[start:start + CHUNK], (k, k), axis=(2, 3))
        # [n, C, oh, ow, K, K] -> [n, oh, ow, C, K, K]: C, K, K as the weight's row order.
        patches = windows.transpose(0, 2, 3, 1, 4, 5).reshape(-1, in_channels * k * k)
        chunk = (patches @ kernel + bias).reshape(-1, oh, ow, out_channels)
        out[start:start + CHUNK] = chunk.transpose(0, 3, 1, 2)
    return out


def maxpool2x2(x):
    n, c, h, w = x.shape
    x = x[:, :, :h // 2 * 2, :w // 2 * 2]
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def batchnorm(x, gamma, beta, mean, var):
    # Per channel on [N, C, H, W], per feature on [N, F].
    shape = (1, -1, 1, 1) if x.ndim == 4 else (1, -1)
    scale = gamma.reshape(shape) / np.sqrt(var.reshape(shape) + BATCHNORM_EPS)
    return (x - mean.reshape(shape)) * scale + beta.reshape(shape)


def softmax(logits):
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


# ---- the model -------------------------------------------------------------------

class Model:
    def __init__(self, path):
        tensors, self.metadata = read_safetensors(path)
        if "arch" not in self.metadata:
            raise FormatError("__metadata__ has no arch")
        self.layers = parse_spec(self.metadata["arch"])
        # Computed in float64: the reference should not add rounding of its own.
        self.tensors = {name: t.astype(np.float64) for name, t in tensors.items()}
        self._check_tensors()

    def _expected_tensors(self):
        """Name -> shape of every tensor the spec needs, from a 1x28x28 input."""
        shape = (1, IMAGE_SIDE, IMAGE_SIDE)
        expected = {}
        for i, layer in enumerate(self.layers):
            prefix = f"layers.{i}."
            if layer[0] == "conv":
                _, k, out_channels, padding = layer
                expected[prefix + "weight"] = (out_channels, shape[0], k, k)
                expected[prefix + "bias"] = (out_channels,)
                side = (lambda s: s) if padding == "same" else (lambda s: s - k + 1)
                shape = (out_channels, side(shape[1]), side(shape[2]))
            elif layer[0] == "maxpool":
                shape = (shape[0], shape[1] // 2, shape[2] // 2)
            elif layer[0] == "dense":
                expected[prefix + "weight"] = (layer[1], math.prod(shape))
                expected[prefix + "bias"] = (layer[1],)
                shape = (layer[1],)
            elif layer[0] == "batchnorm":
                for name in ("weight", "bias", "running_mean", "running_var"):
                    expected[prefix + name] = (shape[0],)
        if shape != (CLASSES,):
            raise FormatError(f"the spec ends with shape {shape}, not {CLASSES} logits")
        return expected

    def _check_tensors(self):
        expected = self._expected_tensors()
        for name, shape in expected.items():
            if name not in self.tensors:
                raise FormatError(f"missing tensor {name}")
            if self.tensors[name].shape != shape:
                raise FormatError(f"{name} has shape {self.tensors[name].shape}, expected {shape}")
        extra = set(self.tensors) - set(expected)
        if extra:
            raise FormatError(f"tensors the spec does not use: {sorted(extra)}")

    def forward(self, images):
        """images: [N, 28, 28] floats in [0, 1]. Returns [N, 10] probabilities."""
        x = np.asarray(images, dtype=np.float64).reshape(-1, 1, IMAGE_SIDE, IMAGE_SIDE)
        for i, layer in enumerate(self.layers):
            t = lambda name: self.tensors[f"layers.{i}.{name}"]  # noqa: E731
            if layer[0] == "conv":
                x = conv2d(x, t("weight"), t("bias"), layer[3])
            elif layer[0] == "maxpool":
                x = maxpool2x2(x)
            elif layer[0] == "dense":
                x = x.reshape(x.shape[0], -1) @ t("weight").T + t("bias")
            elif layer[0] == "relu":
                x = np.maximum(x, 0.0)
            elif layer[0] == "batchnorm":
                x = batchnorm(x, t("weight"), t("bias"), t("running_mean"), t("running_var"))
            # dropout: identity when predicting
        return softmax(x)


# ---- MNIST IDX files ---------------------------------------------------------------

def read_idx_images(path, count=None):
    """[N, 28, 28] floats in [0, 1] from an IDX image file, gzipped or not."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    magic, n, rows, cols = struct.unpack(">IIII", data[:16])
    if magic != 2051:
        raise FormatError(f"{path}: magic {magic}, expected 2051")
    if count is not None:
        n = min(n, count)
    pixels = np.frombuffer(data, dtype=np.uint8, count=n * rows * cols, offset=16)
    return pixels.reshape(n, rows, cols).astype(np.float32) / 255.0


def read_idx_labels(path, count=None):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    magic, n = struct.unpack(">II", data[:8])
    if magic != 2049:
        raise FormatError(f"{path}: magic {magic}, expected 2049")
    if count is not None:
        n = min(n, count)
    return np.frombuffer(data, dtype=np.uint8, count=n, offset=8)


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: reference_forward.py MODEL.safetensors IMAGES-idx3-ubyte[.gz] [COUNT]",
              file=sys.stderr)
        return 2
    model = Model(argv[1])
    images = read_idx_images(argv[2], int(argv[3]) if len(argv) == 4 else None)
    for row in model.forward(images):
        print(json.dumps([round(float(p), 9) for p in row]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
