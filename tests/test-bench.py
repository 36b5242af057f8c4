#!/usr/bin/python3
"""test-bench.py — `digitlab-cli bench` prints every figure, and sane ones.

Runs the quick benchmark with per-layer timing and checks the JSON object
bench/compare-pytorch relies on: every key present, timings positive and
ordered (p90 >= median), the loss of a freshly initialised 10-class model
near ln 10, and the FLOP counts of bench-cnn's layers equal to the known
arithmetic (conv 5x5 1->32 on 28x28, conv 5x5 32->64 on 14x14, dense
3136->128, dense 128->10). Bad options must exit with status 2. When
/usr/bin/python3 has torch, bench/pytorch_bench.py must print the same keys.

    test-bench.py PATH/TO/digitlab-cli      (TAP on stdout)
"""

import json
import math
import os
import subprocess
import sys

BENCH_CNN = "conv5x5:32 relu maxpool conv5x5:64 relu maxpool dense:128 relu dense:10"
REQUIRED = ["arch", "threads", "train_images_per_s", "latency_b1_median_us",
            "latency_b1_p90_us", "infer_images_per_s", "peak_rss_mb"]
BATCH = 64

# Forward multiply-adds x 2 per image; backward is the weight gradient plus,
# except for the first layer, the input gradient: twice as much.
CONV1 = 2 * 32 * 28 * 28 * 1 * 5 * 5
CONV2 = 2 * 64 * 14 * 14 * 32 * 5 * 5
DENSE1 = 2 * 3136 * 128
DENSE2 = 2 * 128 * 10
EXPECTED_MFLOP = {   # layer index: (forward, backward) for the whole batch
    0: (CONV1 * BATCH / 1e6, CONV1 * BATCH / 1e6),
    3: (CONV2 * BATCH / 1e6, 2 * CONV2 * BATCH / 1e6),
    6: (DENSE1 * BATCH / 1e6, 2 * DENSE1 * BATCH / 1e6),
    8: (DENSE2 * BATCH / 1e6, 2 * DENSE2 * BATCH / 1e6),
}

results = []


def check(ok, description, detail=""):
    results.append(ok)
    print(f"{'ok' if ok else 'not ok'} {len(results)} - {description}")
    if not ok and detail:
        for line in str(detail).splitlines():
            print(f"# {line}")
    sys.stdout.flush()
    return ok


def positive(value):
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def close(a, b, tolerance=0.01):
    return isinstance(a, (int, float)) and abs(a - b) <= tolerance * max(abs(b), 0.1)


def run(argv, env=None):
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, env=env)


def test_json(cli):
    proc = run([cli, "bench", "--json", "--quick", "--layers", "--threads", "2", "--peak", "100"])
    if not check(proc.returncode == 0, "bench --json --quick --layers exits 0",
                 proc.stderr):
        return
    lines = [l for l in proc.stdout.splitlines() if l.strip()]
    try:
        result = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError) as exc:
        check(False, "stdout is one JSON object", f"{exc}\n{proc.stdout}")
        return
    check(len(lines) == 1, "stdout is one JSON object and nothing else", proc.stdout)

    missing = [k for k in REQUIRED + ["layers"] if k not in result]
    check(not missing, "every required key is there", f"missing: {missing}")
    check(result.get("arch") == BENCH_CNN, "arch is bench-cnn's canonical spec", result.get("arch"))
    check(result.get("threads") == 2, "threads is what was asked", result.get("threads"))
    check(result.get("batch") == BATCH and result.get("batches") == 8 and result.get("warmup") == 2,
          "--quick times 8 batches of 64 after 2 warm-up ones",
          {k: result.get(k) for k in ("batch", "batches", "warmup")})
    for key in ("train_images_per_s", "infer_images_per_s", "latency_b1_median_us",
                "latency_b1_p90_us", "peak_rss_mb"):
        check(positive(result.get(key)), f"{key} is positive and finite", result.get(key))
    check(result.get("train_images_per_s", 1e9) < 1e6 and result.get("infer_images_per_s", 1e9) < 1e7,
          "throughputs are physically possible on a CPU", result)
    check(result.get("latency_b1_p90_us", -1) >= result.get("latency_b1_median_us", 0),
          "p90 latency is not below the median", result)
    check(1.0 < result.get("peak_rss_mb", 0) < 2048, "peak RSS is between 1 MB and 2 GB",
          result.get("peak_rss_mb"))
    loss = result.get("train_last_loss")
    check(isinstance(loss, (int, float)) and 1.0 < loss < 4.0,
          "training on random labels keeps the loss near ln 10", loss)

    layers = result.get("layers") or []
    names = [l.get("name") for l in layers]
    check(names == BENCH_CNN.split(), "one layer entry per spec word, in order", names)
    for index, (fwd, bwd) in EXPECTED_MFLOP.items():
        if index >= len(layers):
            continue
        layer = layers[index]
        check(close(layer.get("forward_mflop"), fwd) and close(layer.get("backward_mflop"), bwd),
              f"layer {index} ({layer.get('name')}) counts {fwd:.2f} and {bwd:.2f} MFLOP",
              layer)
    timed = all(positive(l.get("forward_us")) and l.get("backward_us", -1) >= 0 for l in layers)
    check(bool(layers) and timed, "every layer has a positive forward time", layers)
    best = all(0 < l.get("forward_best_us", -1) <= l["forward_us"]
               and 0 <= l.get("backward_best_us", -1) <= l["backward_us"] for l in layers)
    check(bool(layers) and best, "each layer's fastest run is no slower than its median", layers)
    convs = [l for l in layers if str(l.get("name", "")).startswith("conv")]
    check(bool(convs) and all(positive(l.get("forward_gflops")) and positive(l.get("backward_gflops"))
                              for l in convs), "conv layers report GFLOP/s both ways", convs)
    # GFLOP/s must be the MFLOP over the time, and % of peak against --peak 100.
    consistent = all(
        close(l["forward_gflops"], l["forward_mflop"] * 1e-3 / (l["forward_us"] * 1e-6), 0.05)
        and close(l.get("forward_peak_percent", -1), l["forward_gflops"], 0.05)
        for l in convs)
    check(bool(convs) and consistent, "GFLOP/s and % of peak agree with FLOPs and times", convs)


def test_text_and_usage(cli):
    proc = run([cli, "bench", "--quick", "--threads", "1", "--batch", "8"])
    check(proc.returncode == 0 and "images/s" in proc.stdout and "µs" in proc.stdout,
          "the text report names its units", proc.stdout + proc.stderr)
    for argv, what in ((["--batch", "0"], "batch 0"), (["--batches", "0"], "zero batches"),
                       (["--arch", "conv5x5:32 wobble"], "an unknown layer"),
                       (["--threads", "-1"], "negative threads"), (["extra"], "a stray argument")):
        proc = run([cli, "bench", "--quick"] + argv)
        check(proc.returncode == 2 and proc.stderr.strip() != "",
              f"{what} is a usage error (status 2, with a reason)",
              f"status {proc.returncode}: {proc.stderr}")


def test_pytorch_keys():
    script = os.path.join(os.environ.get("DIGITLAB_SOURCE_ROOT", os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "..")), "bench", "pytorch_bench.py")
    have_torch = run(["/usr/bin/python3", "-c", "import torch"]).returncode == 0
    if not have_torch:
        print(f"ok {len(results) + 1} # SKIP /usr/bin/python3 has no torch (python3-torch)")
        results.append(True)
        return
    proc = run(["/usr/bin/python3", script, "--json", "--quick", "--threads", "1",
                "--latency-calls", "20"], env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    try:
        result = json.loads(proc.stdout.splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        check(False, "pytorch_bench.py --json prints one JSON object", proc.stdout + proc.stderr)
        return
    missing = [k for k in REQUIRED if k not in result]
    check(not missing and result.get("arch") == BENCH_CNN
          and all(positive(result[k]) for k in REQUIRED if k != "arch"),
          "pytorch_bench.py prints the same keys for the same spec", result)


def main():
    if len(sys.argv) != 2 or not os.access(sys.argv[1], os.X_OK):
        print("1..0 # SKIP usage: test-bench.py PATH/TO/digitlab-cli")
        return 0
    cli = sys.argv[1]
    test_json(cli)
    test_text_and_usage(cli)
    test_pytorch_keys()
    print(f"1..{len(results)}")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
