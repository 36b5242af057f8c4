#!/usr/bin/python3
"""pytorch_bench.py — the yardstick: Digit Lab's benchmark recipe in PyTorch.

Builds the same network from the same architecture spec as `digitlab-cli
bench` (default bench-cnn), trains it with the same recipe (Adam 1e-3,
cross-entropy, batch 64, a fixed number of timed batches after warm-up),
then times batch-1 inference under no_grad and batched inference, and
prints the same figures under the same JSON keys, so bench/compare-pytorch
can set the two side by side.

Run it with Debian's interpreter, which has python3-torch:
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/pytorch_bench.py --threads 2 --json
"""

import argparse
import gzip
import json
import os
import platform
import re
import resource
import statistics
import sys
import time

# Set before torch loads OpenBLAS, or it starts one thread per core on its own.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

try:
    import numpy as np
    import torch
    from torch import nn
except ImportError as exc:
    print(f"pytorch_bench: {exc}: install Debian's python3-torch and "
          "libopenblas0-pthread, and run with /usr/bin/python3", file=sys.stderr)
    sys.exit(2)

# The preset the targets are stated for; other specs are parsed below.
PRESETS = {
    "bench-cnn": "conv5x5:32 relu maxpool conv5x5:64 relu maxpool dense:128 relu dense:10",
}


def build_model(spec):
    """A torch module for a Digit Lab architecture spec (engine/nn.h)."""
    spec = PRESETS.get(spec.strip(), spec)
    layers = []
    shape = (1, 28, 28)          # (C, H, W), or (features,) once flattened
    for word in re.split(r"[\s,]+", spec.strip()):
        conv = re.fullmatch(r"conv(\d+)x\1:(\d+)(?::(same|valid))?", word)
        dense = re.fullmatch(r"(?:dense|fc):(\d+)", word)
        dropout = re.fullmatch(r"dropout:([0-9.]+)", word)
        if conv:
            k, out = int(conv.group(1)), int(conv.group(2))
            pad = 0 if conv.group(3) == "valid" else k // 2
            c, h, w = shape
            layers.append(nn.Conv2d(c, out, k, padding=pad))
            shape = (out, h + 2 * pad - k + 1, w + 2 * pad - k + 1)
        elif word in ("maxpool", "pool"):
            layers.append(nn.MaxPool2d(2))
            c, h, w = shape
            shape = (c, h // 2, w // 2)
        elif dense:
            if len(shape) == 3:
                layers.append(nn.Flatten())
                shape = (shape[0] * shape[1] * shape[2],)
            layers.append(nn.Linear(shape[0], int(dense.group(1))))
            shape = (int(dense.group(1)),)
        elif word == "relu":
            layers.append(nn.ReLU())
        elif dropout:
            layers.append(nn.Dropout(float(dropout.group(1))))
        elif word in ("batchnorm", "bn"):
            layers.append(nn.BatchNorm2d(shape[0]) if len(shape) == 3
                          else nn.BatchNorm1d(shape[0]))
        else:
            raise ValueError(f"layer “{word}” is not one this script knows")
    if shape != (10,):
        raise ValueError(f"the spec ends with shape {shape}, not 10 logits")
    return spec, nn.Sequential(*layers)


def read_idx_images(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    count, rows, cols = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
    return np.frombuffer(data, np.uint8, count * rows * cols, 16).reshape(count, 1, rows, cols)


def read_idx_labels(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    count = int.from_bytes(data[4:8], "big")
    return np.frombuffer(data, np.uint8, count, 8)


def load_images(args, count):
    """@count images and labels: MNIST's first ones if --data, else random
    images of MNIST's shape from a seeded generator (speed does not depend
    on the pixel values)."""
    if args.data:
        def find(name):
            for candidate in (name + ".gz", name):
                if os.path.exists(os.path.join(args.data, candidate)):
                    return os.path.join(args.data, candidate)
            sys.exit(f"pytorch_bench: no {name}[.gz] in {args.data}")
        images = read_idx_images(find("train-images-idx3-ubyte"))
        labels = read_idx_labels(find("train-labels-idx1-ubyte"))
        index = np.arange(count) % len(labels)
        x = torch.from_numpy(images[index].astype(np.float32) / 255.0)
        y = torch.from_numpy(labels[index].astype(np.int64))
    else:
        rng = np.random.default_rng(args.seed)
        x = torch.from_numpy(rng.random((count, 1, 28, 28), dtype=np.float32))
        y = torch.from_numpy(rng.integers(0, 10, count, dtype=np.int64))
    return x.contiguous(), y


def bench_training(model, args):
    total = args.warmup + args.batches
    x, y = load_images(args, total * args.batch)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    model.train()

    def step(b):
        xb = x[b * args.batch:(b + 1) * args.batch]
        yb = y[b * args.batch:(b + 1) * args.batch]
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        return loss

    for b in range(args.warmup):
        step(b)
    start = time.perf_counter()
    for b in range(args.warmup, total):
        loss = step(b)
    loss = float(loss)      # waits for nothing on CPU, but reads the result
    seconds = time.perf_counter() - start
    return args.batches * args.batch / seconds, loss


def bench_latency(model, args):
    """Batch-1 forward to class probabilities, as the app does per stroke."""
    model.eval()
    x, _ = load_images(args, 64)
    times = []
    with torch.no_grad():
        for i in range(20):
            torch.softmax(model(x[i % 64:i % 64 + 1]), dim=1)
        for i in range(args.latency_calls):
            xb = x[i % 64:i % 64 + 1]
            start = time.perf_counter_ns()
            torch.softmax(model(xb), dim=1)
            times.append((time.perf_counter_ns() - start) / 1000.0)
    times.sort()
    p90 = times[min(len(times) - 1, int(0.9 * len(times)))]
    return statistics.median(times), p90


def bench_inference(model, args):
    model.eval()
    x, _ = load_images(args, args.infer_batch)
    with torch.no_grad():
        torch.softmax(model(x), dim=1)
        start = time.perf_counter()
        for _ in range(args.infer_rounds):
            torch.softmax(model(x), dim=1)
        seconds = time.perf_counter() - start
    return args.infer_rounds * args.infer_batch / seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="bench-cnn", help="spec or bench-cnn (default)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--batches", type=int, default=100, help="timed training batches")
    parser.add_argument("--warmup", type=int, default=10, help="untimed batches first")
    parser.add_argument("--latency-calls", type=int, default=1000)
    parser.add_argument("--infer-batch", type=int, default=1000)
    parser.add_argument("--infer-rounds", type=int, default=5)
    parser.add_argument("--data", help="MNIST folder (default: random images)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="a few seconds, for tests")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    args = parser.parse_args()
    if args.quick:
        args.batches, args.warmup = min(args.batches, 8), min(args.warmup, 2)
        args.latency_calls, args.infer_rounds = min(args.latency_calls, 50), 1
    if min(args.threads, args.batch, args.batches, args.latency_calls,
           args.infer_batch, args.infer_rounds) < 1 or args.warmup < 0:
        parser.error("counts must be positive")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    try:
        spec, model = build_model(args.arch)
    except ValueError as exc:
        parser.error(str(exc))

    train_ips, last_loss = bench_training(model, args)
    median_us, p90_us = bench_latency(model, args)
    infer_ips = bench_inference(model, args)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    result = {
        "framework": f"pytorch {torch.__version__}",
        "arch": spec,
        "threads": args.threads,
        "batch": args.batch,
        "batches": args.batches,
        "warmup": args.warmup,
        "data": args.data or "synthetic",
        "train_images_per_s": round(train_ips, 1),
        "train_last_loss": round(last_loss, 4),
        "latency_b1_median_us": round(median_us, 1),
        "latency_b1_p90_us": round(p90_us, 1),
        "infer_batch": args.infer_batch,
        "infer_images_per_s": round(infer_ips, 1),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "python": platform.python_version(),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"PyTorch {torch.__version__}, {args.threads} thread(s), {spec}")
        print(f"  training:        {train_ips:9.1f} images/s (batch {args.batch}, "
              f"{args.batches} batches after {args.warmup} warm-up)")
        print(f"  batch-1 latency: {median_us:9.1f} us median, {p90_us:.1f} us p90 "
              f"({args.latency_calls} calls)")
        print(f"  inference:       {infer_ips:9.1f} images/s (batch {args.infer_batch})")
        print(f"  peak RSS:        {peak_rss_mb:9.1f} MB")


if __name__ == "__main__":
    main()
