#!/usr/bin/python3
"""Digit Lab's training page, driven for real: the digitlab window on a
private X server (tests/gui/harness.py), started with MNIST from
$DIGITLAB_MNIST_DIR and settings that train the benchmark CNN on the
first 2,000 training images.

    test-training.py PATH/TO/digitlab [TEST ...]

Tests (all by default):
  run       Ctrl+Enter starts a run; progress events arrive (in order,
            throttled, with a finite loss and a speed); a whole epoch
            reports its test accuracy; pause and resume over D-Bus
            (`gapplication action io.github.digitlab.DigitLab train.pause`)
            stop and restart the progress; stop ends the run, which is then
            evaluated on the 10,000 test images; "use the model" makes the
            canvas recognise with it (a model event, then the drawing read
            anew, differently from the built-in model, and the same drawing
            drawn again read the same way). While training, the main loop
            never works for more than 50 ms without coming back to its
            timer, and never waits 200 ms longer than a reference process
            does at the same time. Screenshots of the
            page mid-run and of the confusion matrix are saved.
  crash     the app is killed after an epoch; started again, it offers the
            run; resuming continues after the last finished epoch.

TAP output; logs and screenshots in <build>/tests/artifacts/.
"""

import argparse
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
import harness  # noqa: E402
import hershey  # noqa: E402
from harness import GuiError, Session, is_event, short  # noqa: E402
from tap import Tap  # noqa: E402

APP_ID = "io.github.digitlab.DigitLab"
DEADLINE = 560                  # under meson's 600 s timeout
TRAIN_IMAGES = 2000
MAX_STALL_MS = 50.0        # the main loop's own work between two ticks
MAX_WALL_GAP_MS = 200.0    # a gap beyond the reference loop's, whatever keeps the main loop waiting
MAX_PROGRESS_PER_S = 30.0       # the page's promise: at most 30 updates a second
BENCH_CNN = "conv5x5:32 relu maxpool conv5x5:64 relu maxpool dense:128 relu dense:10"
EPOCHS = 20                     # more than the test waits for: it stops the run
SETTINGS = {
    "window-width": "1400",
    "window-height": "900",
    "train-architecture": "'bench-cnn'",
    "train-limit-enabled": "true",
    "train-limit": str(TRAIN_IMAGES),
    "train-epochs": str(EPOCHS),
    "train-batch-size": "32",
}


def artifacts_dir():
    return os.path.join(os.environ.get("DIGITLAB_BUILD_ROOT", os.getcwd()), "tests", "artifacts")


class TrainingSession(Session):
    """A session whose settings come from a key file, and whose
    checkpoints and data folder are the test's own."""

    def __init__(self, app_path, name, home, ready_timeout=60.0):
        super().__init__(app_path, artifacts_dir(), name, ready_timeout=ready_timeout)
        self.home = home

    def _env(self):
        env = super()._env()
        env["GSETTINGS_BACKEND"] = "keyfile"
        for kind in ("config", "state", "data"):
            env[f"XDG_{kind.upper()}_HOME"] = os.path.join(self.home, kind)
        return env

    def action(self, name):
        """Activates app.@name over D-Bus, as any script could."""
        env = dict(os.environ, DISPLAY=self.xserver.display)
        proc = subprocess.run(["gapplication", "action", APP_ID, name], env=env,
                              capture_output=True, text=True, timeout=30)
        if proc.returncode != 0:
            raise GuiError(f"gapplication action {name} failed: {proc.stderr.strip()}")

    def checkpoint(self):
        return os.path.join(self.home, "state", "digitlab", "checkpoint.safetensors")


REFERENCE_LOOP = r"""
import sys, time
last = time.monotonic(); worst = 0.0; second = last
while True:
    time.sleep(0.01)
    now = time.monotonic()
    worst = max(worst, (now - last) * 1000.0)
    last = now
    if now - second >= 0.5:
        print(f"{now:.4f} {worst:.2f}", flush=True)
        worst = 0.0
        second = now
"""


class ReferenceLoop:
    """A process that only ticks every 10 ms, as the app's stall monitor
    does, and says every half second how late its ticks came. On a machine
    shared with other work, the app's main loop can be made to wait by
    the machine alone; the reference shows when."""

    def __init__(self):
        self.samples = []           # (monotonic time, longest gap in ms)
        self.proc = subprocess.Popen([sys.executable, "-c", REFERENCE_LOOP], stdout=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            t, ms = line.split()
            self.samples.append((float(t), float(ms)))

    def worst_between(self, start, end):
        return max((ms for t, ms in self.samples if start <= t <= end + 0.5), default=0.0)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def make_home():
    home = tempfile.mkdtemp(prefix="digitlab-gui-training-")
    folder = os.path.join(home, "config", "glib-2.0", "settings")
    os.makedirs(folder)
    with open(os.path.join(folder, "keyfile"), "w") as f:
        f.write("[io/github/digitlab/DigitLab]\n")
        for key, value in SETTINGS.items():
            f.write(f"{key}={value}\n")
    return home


def events_between(s, start, end=None):
    with s.app.cond:
        return [e for _, e in s.app.events[start:end]]


def show_draw_page(s):
    """Clicks the Draw tab, left of the header bar's centre."""
    g = s.geometry()
    s.xdotool("mousemove", g["X"] + g["WIDTH"] // 2 - 60, g["Y"] + 27, "click", 1)
    time.sleep(0.5)


def differ(a, b, tolerance=1e-3):
    return max(abs(x - y) for x, y in zip(a, b)) > tolerance


def differ_in_log(a, b, tolerance=0.05):
    """Whether two models' readings differ. Two confident models can agree
    on the winner to within 1e-3, so the small probabilities, compared as
    logarithms, are what tells them apart."""
    return max(abs(math.log(max(x, 1e-30)) - math.log(max(y, 1e-30))) for x, y in zip(a, b)) > tolerance


# ---- run -----------------------------------------------------------------------

def check_progress(tap, progress, seconds):
    """Progress events come in training order, with usable numbers, and
    no faster than the page promises."""
    order = [(e["epoch"], e["batch"]) for e in progress]
    tap.result(order == sorted(order) and len(set(order)) == len(order),
               f"{len(progress)} progress events, in training order", f"order: {order[:20]}")
    bad = [e for e in progress
           if not (isinstance(e.get("loss"), (int, float)) and math.isfinite(e["loss"]) and e["loss"] > 0
                   and e.get("images_per_s", 0) > 0 and e.get("batches", 0) == math.ceil(TRAIN_IMAGES / 32)
                   and 1 <= e["batch"] <= e["batches"] and e.get("epochs") == EPOCHS)]
    tap.result(not bad, "progress events carry a finite loss, a speed and the batch position",
               short(bad[:3]))
    rate = len(progress) / max(seconds, 1e-3)
    tap.diag(f"{len(progress)} progress events over {seconds:.1f} s: {rate:.1f}/s")
    tap.result(rate <= MAX_PROGRESS_PER_S, f"progress is throttled: {rate:.1f}/s <= {MAX_PROGRESS_PER_S:.0f}/s")


def test_run(tap, app_path):
    home = make_home()
    folder = artifacts_dir()
    reference = ReferenceLoop()
    try:
        with TrainingSession(app_path, "training", home) as s:
            # A digit read by the built-in model, for comparison later.
            w, h = s.canvas["width"], s.canvas["height"]
            strokes = hershey.make_drawing(3, "futural", w, h, rng=random.Random("gui-training"),
                                           pen_width=False, ranges={"height": (0.7, 0.75)})["strokes"]
            built_in = s.draw(strokes)

            # The data is loaded when the Train page is first shown.
            tap.result(not [e for e in s.app.since(0) if e.get("event") == "data-loaded"],
                       "nothing is loaded for training before the Train page is shown")
            s.action("train.show")
            _, data = s.app.wait_for(is_event("data-loaded"), timeout=60, what="data-loaded event")
            tap.result(data.get("train_images") == 60000 and data.get("test_images") == 10000,
                       "MNIST is loaded off the main thread: 60,000 + 10,000 images",
                       short([data]))

            # Start from the keyboard.
            mark = s.app.mark()
            s.key("ctrl+Return")
            i_started, started = s.app.wait_for(is_event("train-started"), since=mark, timeout=30,
                                                what="train-started after Ctrl+Enter")
            tap.result(started.get("train_images") == TRAIN_IMAGES and started.get("arch") == BENCH_CNN,
                       f"Ctrl+Enter starts the benchmark CNN on the first {TRAIN_IMAGES} images",
                       short([started]))

            # Progress, then a whole epoch.
            t0 = time.monotonic()
            i_epoch, epoch = s.app.wait_for(is_event("train-epoch", epoch=1), since=i_started, timeout=120,
                                            what="the first epoch")
            progress = [e for e in events_between(s, i_started, i_epoch) if e.get("event") == "train-progress"]
            check_progress(tap, progress, time.monotonic() - t0)
            accuracy = epoch.get("test_accuracy")
            tap.result(isinstance(accuracy, float) and 0.5 < accuracy <= 1.0,
                       f"epoch 1 reports its test accuracy ({accuracy})")

            # Mid-run screenshot, once the curves have something to show.
            # Taking it holds the X server, and so the app: the seconds it
            # takes are left out of the stall measurement.
            s.app.wait_for(lambda e: e.get("event") == "train-progress" and e.get("epoch", 0) >= 2
                           and e.get("batch", 0) >= 30, since=i_epoch, timeout=120, what="epoch 2 under way")
            shot_start = time.monotonic()
            s.screenshot(os.path.join(folder, "training.png"))
            shot_end = time.monotonic()

            # Drawing goes on while the run trains, read by the window's own
            # model: the same drawing, the same probabilities as before.
            show_draw_page(s)
            s.clear()
            during = s.draw(strokes)
            tap.result(not differ(during["probabilities"], built_in["probabilities"], 1e-5),
                       "while training, drawings are read by the window's model as before")
            s.action("train.show")

            # Pause and resume over D-Bus.
            mark = s.app.mark()
            s.action("train.pause")
            i_paused, _ = s.app.wait_for(is_event("train-paused"), since=mark, timeout=30, what="train-paused")
            time.sleep(1.0)
            late = [e for e in events_between(s, i_paused + 1) if e.get("event") == "train-progress"]
            tap.result(not late, "pausing over D-Bus stops the progress", short(late[:3]))
            mark = s.app.mark()
            s.action("train.resume")
            s.app.wait_for(is_event("train-resumed"), since=mark, timeout=30, what="train-resumed")
            s.app.wait_for(is_event("train-progress"), since=mark, timeout=30, what="progress after resuming")
            tap.result(True, "resuming over D-Bus brings the progress back")

            # Stop once another epoch is over.
            s.app.wait_for(is_event("train-epoch"), since=mark, timeout=120, what="an epoch after resuming")
            mark = s.app.mark()
            s.action("train.stop")
            i_stopped, stopped = s.app.wait_for(is_event("train-stopped"), since=mark, timeout=60,
                                                what="train-stopped")
            tap.result(stopped.get("epochs_done", 0) >= 2, f"stop ends the run after {stopped.get('epochs_done')} epochs")

            # The main loop while training: each stall event covers the
            # second before it, with the longest gap between the main loop's
            # 10 ms ticks (max_ms), the main thread's own processor time in
            # that gap (busy_ms) and its time queued for a processor
            # (queued_ms). On this shared two-core machine a gap also holds
            # waits the app does not cause: for the X server (Xvfb shares
            # the cores with the training), for the host (steal time), for
            # the screenshot's grab of the server. So the 50 ms bound is on
            # the main loop's own work in a gap; and a gap that outlasts by
            # MAX_WALL_GAP_MS or more the longest one the reference loop saw
            # in the same second fails too, whatever its cause: what the
            # host stole from every process there is not the app's doing
            # (a CI run with the host taking a third of the cores had a
            # 203 ms gap), the rest no longer noise.
            with s.app.cond:
                timed = s.app.events[i_started:i_stopped + 1]
            stalls = [(t, e) for t, e in timed if e.get("event") == "stall"]
            counted = [(t, e) for t, e in stalls if not (t >= shot_start and t - 1.2 <= shot_end)]
            worst_work = max((e.get("busy_ms", e["max_ms"]) for _, e in counted), default=float("inf"))
            worst_gap = max((e["max_ms"] for _, e in counted), default=float("inf"))
            worst_excess = max((e["max_ms"] - reference.worst_between(t - 1.1, t) for t, e in counted),
                               default=float("inf"))
            gaps = ", ".join(f"{e['max_ms']:.0f}" for _, e in stalls)
            tap.diag(f"main loop, longest gap per second while training (ms): {gaps}")
            for t, e in stalls:
                if e["max_ms"] > MAX_STALL_MS:
                    tap.diag(f"a {e['max_ms']:.0f} ms gap, {e.get('busy_ms', 0):.0f} ms of it spent running "
                             f"on the main thread, {e.get('queued_ms', 0):.0f} ms queued for a processor; "
                             f"reference loop {reference.worst_between(t - 1.1, t):.0f} ms")
            tap.diag(f"reference loop over the same time: longest gap "
                     f"{reference.worst_between(stalls[0][0] - 1, stalls[-1][0]) if stalls else 0:.0f} ms")
            tap.result(len(counted) >= 3, f"stall events come every second while training ({len(stalls)})")
            tap.result(worst_work <= MAX_STALL_MS, f"the main loop never works longer than {MAX_STALL_MS:.0f} ms "
                       f"at a stretch while training (longest {worst_work:.1f} ms over {len(counted)} s; "
                       f"longest gap {worst_gap:.1f} ms)")
            tap.result(worst_excess < MAX_WALL_GAP_MS,
                       f"no gap in the main loop outlasts the reference loop's by {MAX_WALL_GAP_MS:.0f} ms "
                       f"while training (by {worst_excess:.1f} ms at most; longest gap {worst_gap:.1f} ms)")

            # Evaluated on the whole test set.
            _, evaluated = s.app.wait_for(is_event("train-evaluated"), since=i_stopped, timeout=120,
                                          what="train-evaluated")
            tap.result(evaluated.get("test_images") == 10000 and 0.5 < evaluated.get("test_accuracy", 0) <= 1,
                       f"the stopped run is evaluated on 10,000 test images ({evaluated.get('test_accuracy')})")

            # Use the model: the canvas reads with it at once.
            mark = s.app.mark()
            s.action("train.use-model")
            i_model, model = s.app.wait_for(is_event("model"), since=mark, timeout=30, what="model event")
            tap.result(model.get("name") == "Run 1" and model.get("arch") == BENCH_CNN,
                       "using the model announces it to the canvas", short([model]))
            _, reread = s.app.wait_for(lambda e: e.get("event") == "prediction" and e.get("final")
                                       and e.get("strokes") == len(strokes), since=i_model, timeout=30,
                                       what="the drawing read by the new model")
            tap.result(differ_in_log(reread["probabilities"], built_in["probabilities"]),
                       "the drawing is read anew, differently from the built-in model",
                       f"built-in {built_in['probabilities']}, new {reread['probabilities']}")
            show_draw_page(s)
            s.clear()
            again = s.draw(strokes)
            tap.result(not differ(again["probabilities"], reread["probabilities"], 1e-5),
                       f"drawn again, it is read by the new model ({again['digit']}, "
                       f"{again['confidence']:.3f}; built-in {built_in['digit']}, {built_in['confidence']:.3f})")

            # The confusion matrix, for the docs.
            s.action("train.show")
            s.key("alt+r")
            time.sleep(0.8)
            s.screenshot(os.path.join(folder, "confusion.png"))

            time.sleep(0.5)
            tap.result(not os.path.exists(s.checkpoint()), "a run that ended leaves no checkpoint behind")
    finally:
        reference.stop()
        shutil.rmtree(home, ignore_errors=True)


# ---- crash ---------------------------------------------------------------------

def test_crash(tap, app_path):
    home = make_home()
    try:
        with TrainingSession(app_path, "training-crash", home) as s:
            # Started over D-Bus without showing the page: the data loads first.
            mark = s.app.mark()
            s.action("train.start")
            i_epoch, _ = s.app.wait_for(is_event("train-epoch", epoch=2), since=mark, timeout=180,
                                        what="the second epoch")
            # The description is written just after the epoch's checkpoint.
            s.app.wait_for(lambda e: e.get("event") == "train-progress" and e.get("epoch") == 3,
                           since=i_epoch, timeout=60, what="the third epoch under way")
            time.sleep(0.5)
            tap.result(os.path.exists(s.checkpoint()), "a checkpoint is on disk after every epoch")
            s.app.proc.kill()
            s.app.proc.wait(10)

        with TrainingSession(app_path, "training-crash-2", home) as s:
            _, offer = s.app.wait_for(is_event("train-interrupted"), timeout=60, what="the interrupted run")
            tap.result(offer.get("run") == "Run 1" and offer.get("epochs_done") == 2 and offer.get("epochs") == EPOCHS,
                       "started again, the app offers to resume the run killed after 2 epochs", short([offer]))
            mark = s.app.mark()
            s.action("train.resume")
            s.app.wait_for(is_event("train-resumed"), since=mark, timeout=60, what="train-resumed")
            i_first, first = s.app.wait_for(is_event("train-progress"), since=mark, timeout=60,
                                            what="progress after resuming")
            tap.result(first.get("epoch") == 3, f"training carries on in epoch 3 (epoch {first.get('epoch')})")
            _, epoch = s.app.wait_for(lambda e: e.get("event") == "train-epoch", since=i_first, timeout=120,
                                      what="an epoch after resuming")
            tap.result(epoch.get("epoch") == 3, "the next epoch finished is the third")
            mark = s.app.mark()
            s.action("train.stop")
            s.app.wait_for(is_event("train-stopped"), since=mark, timeout=60, what="train-stopped")
            time.sleep(0.5)
            tap.result(not os.path.exists(s.checkpoint()), "stopping the resumed run clears its checkpoint")
    finally:
        shutil.rmtree(home, ignore_errors=True)


TESTS = {"run": test_run, "crash": test_crash}


def main():
    parser = argparse.ArgumentParser(description="Digit Lab's training page tests (TAP output).")
    parser.add_argument("app", help="the digitlab program")
    parser.add_argument("tests", nargs="*", metavar="TEST", help=f"tests to run: {', '.join(TESTS)}")
    args = parser.parse_args()
    unknown = [n for n in args.tests if n not in TESTS]
    if unknown:
        parser.error(f"unknown test(s) {', '.join(unknown)}; known: {', '.join(TESTS)}")
    app_path = os.path.abspath(args.app)

    tap = Tap()
    if not os.access(app_path, os.X_OK):
        tap.skip_all(f"{app_path} is not an executable")
    missing = harness.missing_tools() + [t for t in ("gapplication",) if shutil.which(t) is None]
    if missing:
        tap.skip_all(f"missing {', '.join(missing)} (xvfb xdotool imagemagick dbus libglib2.0-bin)")
    mnist = os.environ.get("DIGITLAB_MNIST_DIR", "")
    if not os.path.isdir(mnist):
        tap.skip_all(f"no MNIST folder ($DIGITLAB_MNIST_DIR={mnist!r})")
    try:
        hershey.font_digits("futural")
    except hershey.FixtureError as e:
        tap.skip_all(str(e))

    harness.run_on_private_bus()
    harness.set_deadline(DEADLINE)
    for name in args.tests or list(TESTS):
        try:
            TESTS[name](tap, app_path)
        except GuiError as e:
            tap.result(False, f"{name}: the test ran to its end", str(e))
        except harness.Deadline as e:
            tap.result(False, f"{name}: the test ran to its end", str(e))
            print(f"Bail out! {e}", flush=True)
            return 1
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
