#!/usr/bin/python3
"""Digit Lab's GUI tests: the real digitlab window on a private X server,
drawn on with real pointer drags, its --log-predictions events checked.

    run-gui-test.py PATH/TO/digitlab [--model FILE] [TEST ...]

Without --model the app uses its embedded default model.

Tests (all by default):
  digits      Hershey digits 0-9 in five styles at various sizes and places,
              drawn stroke by stroke; each must end in a final prediction;
              at least 95% must be read right.
  shortcuts   undo/redo (Ctrl+Z, Shift+Ctrl+Z) and clear (Escape, Delete),
              their events, the predictions that follow them, and none for
              an empty canvas; every Tab stop of a fresh window shows a
              focus ring.
  live        a long slow stroke gets at least 20 predictions a second
              before the final one; digitlab-cli predict --strokes reads
              the drawing the app logged as the app did, also when given
              in screen pixels.
  screenshot  drawing changes the canvas on screen; the window is saved as
              <build>/tests/artifacts/window.png.
  launch      time from exec to the ready event, median of 3 (printed).

TAP output.  Logs of each run (app stderr, Xvfb, all events) go to
<build>/tests/artifacts/ ($DIGITLAB_BUILD_ROOT, else the current folder).
"""

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
import harness  # noqa: E402
import hershey  # noqa: E402
from harness import GuiError, Session, is_event, short  # noqa: E402
from tap import Tap  # noqa: E402

MIN_ACCURACY = 0.95
MIN_LIVE_RATE = 20.0            # predictions per second of drawing
QUIET_SECONDS = 1.0             # how long "no prediction" must hold
MAX_TAB_STOPS = 16              # more than the Draw page's window has
MIN_FOCUS_RING_PIXELS = 40      # a ring round the smallest button is ~200
DEADLINE = 540                  # under meson's 600 s timeout
APP_ARGS = []                   # given to every launch of the app
DIGIT_STYLES = ["futural", "rowmans", "futural-italic", "timesr", "scripts"]
# The live canvas's own pen draws these, so keep digits big enough for it.
# Pointer events 8-14 px apart are a brisk hand on a big canvas, and keep
# the 50 drawings to about three minutes.
GUI_RANGES = {"height": (0.45, 0.85), "step": (8.0, 14.0)}
# digitlab-cli against the app on the drawing the app logged: the same
# code and model, so only the log's six significant digits differ.  As
# (probabilities, their logarithms): a confident reading's probabilities
# are 0 or 1 to within 1e-6 whatever the raster, their logarithms are not
# (0.1 apart when a 503-pixel canvas's strokes were drawn at 503 pixels).
CLI_SAME_DRAWING = (1e-5, 1e-4)
# The same strokes in screen pixels: float rounding of the coordinates.
CLI_SCREEN_PIXELS = (1e-3, 1e-3)
# Below this, a probability's logarithm says nothing (floats underflow).
TINY_PROBABILITY = 1e-30


def artifacts_dir():
    return os.path.join(os.environ.get("DIGITLAB_BUILD_ROOT", os.getcwd()), "tests", "artifacts")


def prediction_problem(event):
    probs = event.get("probabilities")
    digit = event.get("digit")
    if not isinstance(digit, int) or not 0 <= digit <= 9:
        return f"digit {digit!r} is not 0..9"
    if not isinstance(probs, list) or len(probs) != 10:
        return "probabilities is not a list of 10"
    if abs(sum(probs) - 1) > 1e-3:
        return f"probabilities sum to {sum(probs):.4f}"
    if probs[digit] != max(probs):
        return "digit is not the most probable"
    return None


def has_model(tap, s):
    """Predictions need a model: say so plainly instead of timing out."""
    if s.has_model():
        return True
    tap.result(False, "the app has a model to recognise digits with",
               f"model event: {s.model()} (no embedded default model? try --model FILE)")
    return False


def cli_path(app_path):
    """digitlab-cli of the same build as the app."""
    build = os.environ.get("DIGITLAB_BUILD_ROOT") or os.path.dirname(os.path.dirname(app_path))
    return os.path.join(build, "app", "digitlab-cli")


def cli_predict_strokes(cli, drawings):
    """digitlab-cli predict --strokes - on @drawings (dicts), with the app's
    model: one answer per drawing."""
    text = "".join(json.dumps(d) + "\n" for d in drawings)
    try:
        proc = subprocess.run([cli, "predict", *APP_ARGS, "--strokes", "-"], input=text,
                              capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        raise GuiError("digitlab-cli predict --strokes hung for 120 s")
    answers = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or len(answers) != len(drawings):
        raise GuiError(f"digitlab-cli predict --strokes exited with {proc.returncode} and "
                       f"{len(answers)} answers for {len(drawings)} drawings: {proc.stderr.strip()}")
    return answers


def in_screen_pixels(drawing, canvas):
    """@drawing (in the canvas's logical coordinates) as recorded in the
    pixels of the canvas on screen: points and pen scaled alike."""
    factor = canvas["width"] / drawing["width"]
    return {"width": canvas["width"], "height": canvas["height"],
            "pen_width": drawing["pen_width"] * factor,
            "strokes": [[[x * factor, y * factor] for x, y in stroke]
                        for stroke in drawing["strokes"]]}


def largest_differences(a, b):
    """The largest difference between the probabilities @a and @b, and
    between their logarithms."""
    if not isinstance(a, list) or not isinstance(b, list) or len(a) != 10 or len(b) != 10:
        return math.inf, math.inf
    def log(p):
        return math.log(max(p, TINY_PROBABILITY))
    return (max(abs(x - y) for x, y in zip(a, b)),
            max(abs(log(x) - log(y)) for x, y in zip(a, b)))


def check_cli_reads_as_app(tap, s, app_path, drawing, final):
    """The drawing logged before @final, replayed through digitlab-cli: as
    the app holds it, and in the screen pixels of the canvas."""
    cli = cli_path(app_path)
    if not os.access(cli, os.X_OK):
        tap.result(False, "digitlab-cli is there to replay the drawing", f"{cli} is not a program")
        return
    screen = in_screen_pixels(drawing, s.canvas)
    same, scaled = cli_predict_strokes(cli, [drawing, screen])
    for answer, name, (limit, log_limit) in (
            (same, "the app's drawing", CLI_SAME_DRAWING),
            (scaled, f"the drawing in screen pixels ({screen['width']}x{screen['height']})",
             CLI_SCREEN_PIXELS)):
        worst, worst_log = largest_differences(answer.get("probabilities"),
                                               final.get("probabilities"))
        tap.diag(f"digitlab-cli on {name}: {answer.get('digit')}, probabilities {worst:.2g} "
                 f"from the app's, their logarithms {worst_log:.2g}")
        tap.result(answer.get("digit") == final.get("digit") and worst <= limit
                   and worst_log <= log_limit,
                   f"digitlab-cli reads {name} as the app did (probabilities within {limit:g}, "
                   f"their logarithms within {log_limit:g})",
                   f"app: {final.get('digit')} {final.get('probabilities')}\ncli: {answer}")


# ---- digits ------------------------------------------------------------------

def test_digits(tap, app_path):
    with Session(app_path, artifacts_dir(), "digits", APP_ARGS) as s:
        if not has_model(tap, s):
            return
        w, h = s.canvas["width"], s.canvas["height"]
        tap.diag(f"canvas {w}x{h} at {s.origin} on screen")
        results = []            # (style, digit, read, confidence)
        problems = []
        started = time.monotonic()
        for style in DIGIT_STYLES:
            for digit in range(10):
                rng = random.Random(f"gui:{style}:{digit}")
                drawing = hershey.make_drawing(digit, style, w, h, rng=rng,
                                               pen_width=False, ranges=GUI_RANGES)
                try:
                    final = s.draw(drawing["strokes"])
                except GuiError as e:
                    problems.append(f"{style} {digit}: {e}")
                    results.append((style, digit, None, 0.0))
                    s.clear()
                    continue
                problem = prediction_problem(final)
                if problem:
                    problems.append(f"{style} {digit}: {problem}")
                results.append((style, digit, final.get("digit"), final.get("confidence", 0.0)))
                tap.diag(f"{style:15} {digit} -> {final.get('digit')} "
                         f"({final.get('confidence', 0):.3f})"
                         f"{'' if final.get('digit') == digit else '   MISREAD'}")
                s.clear()
        elapsed = time.monotonic() - started

    tap.result(not problems, f"all {len(results)} drawings end in a valid final prediction",
               "\n".join(problems[:10]))
    right = sum(read == digit for _, digit, read, _ in results)
    accuracy = right / len(results)
    for style in DIGIT_STYLES:
        n = sum(1 for st, d, r, _ in results if st == style and d == r)
        tap.diag(f"  style {style:15} {n}/10")
    for digit in range(10):
        n = sum(1 for _, d, r, _ in results if d == digit and r == digit)
        tap.diag(f"  digit {digit} {n}/{len(DIGIT_STYLES)}")
    tap.diag(f"GUI accuracy {accuracy:.1%} ({right}/{len(results)} drawings, "
             f"{elapsed:.0f} s of drawing)")
    tap.result(accuracy >= MIN_ACCURACY,
               f"drawn digits are read right: {accuracy:.1%} ({right}/{len(results)}) "
               f">= {MIN_ACCURACY:.0%}")


# ---- shortcuts -----------------------------------------------------------------

def no_prediction_for(s, mark, seconds=QUIET_SECONDS):
    """The predictions that arrive within @seconds after @mark (none wanted)."""
    time.sleep(seconds)
    return [e for e in s.app.since(mark) if e.get("event") == "prediction"]


def test_shortcuts(tap, app_path):
    with Session(app_path, artifacts_dir(), "shortcuts", APP_ARGS) as s:
        if not has_model(tap, s):
            return
        w, h = s.canvas["width"], s.canvas["height"]
        down = [(w * 0.5, h * (0.2 + 0.6 * i / 30)) for i in range(31)]         # a stem
        across = [(w * (0.3 + 0.4 * i / 20), h * 0.3) for i in range(21)]      # a bar

        first = s.draw([down])
        tap.result(first.get("strokes") == 1, "one stroke: final prediction counts 1 stroke")
        mark = s.app.mark()
        s.drag(across)
        _, second = s.app.wait_for(lambda e: e.get("event") == "prediction" and e.get("final")
                                   and e.get("strokes") == 2, since=mark,
                                   what="final prediction for the 2nd stroke")
        tap.result(True, "two strokes: final prediction counts 2 strokes")

        def step(keys, kind, strokes, name, expect_prediction=True):
            mark = s.app.mark()
            s.key(keys)
            try:
                i, _ = s.app.wait_for(is_event(kind, strokes=strokes), since=mark,
                                      what=f"{kind} event with strokes {strokes}")
            except GuiError as e:
                tap.result(False, name, str(e))
                return
            if expect_prediction:
                try:
                    s.app.wait_for(lambda e: e.get("event") == "prediction"
                                   and e.get("strokes") == strokes, since=i,
                                   what=f"prediction for {strokes} stroke(s)")
                    tap.result(True, name)
                except GuiError as e:
                    tap.result(False, name, str(e))
            else:
                late = no_prediction_for(s, i)
                tap.result(not late, name, f"predictions: {short(late)}")

        step("ctrl+z", "undo", 1, "Ctrl+Z: undo event with 1 stroke, then a new prediction")
        step("shift+ctrl+z", "redo", 2, "Shift+Ctrl+Z: redo event with 2 strokes, then a new prediction")

        for key in ("Escape", "Delete"):
            if key == "Delete":
                s.draw([down])
            mark = s.app.mark()
            s.key(key)
            try:
                i, _ = s.app.wait_for(is_event("cleared"), since=mark, what=f"cleared after {key}")
            except GuiError as e:
                tap.result(False, f"{key} clears the canvas", str(e))
                continue
            late = no_prediction_for(s, i)
            tap.result(not late, f"{key} clears the canvas, and an empty canvas gets no prediction",
                       f"predictions after cleared: {short(late)}")

        # Clearing is undoable: the strokes come back.
        step("ctrl+z", "undo", 1, "Ctrl+Z after clearing brings the strokes back")
        # Undo down to nothing: no prediction for the empty canvas.
        step("ctrl+z", "undo", 0, "undo to an empty canvas gives no prediction",
             expect_prediction=False)
        # A new stroke drops what could have been redone.
        s.draw([across], final_timeout=15)
        mark = s.app.mark()
        s.key("shift+ctrl+z")
        time.sleep(QUIET_SECONDS)
        redone = [e for e in s.app.since(mark) if e.get("event") == "redo"]
        tap.result(not redone, "a new stroke empties the redo list", f"events: {short(redone)}")

    check_tab_stops_visible(tap, app_path)


def wait_until_active(s, timeout=10.0):
    """Wait until GTK has the window active: X gives it the keyboard focus
    at once, but GTK marks it active (and draws focus rings) only once it has
    handled the focus event, and a Tab pressed before that shows nothing."""
    def active_now():
        states = [e["active"] for e in s.app.since(0) if e.get("event") == "active"]
        return bool(states) and states[-1]
    end = time.monotonic() + timeout
    while not active_now():
        if time.monotonic() > end:
            raise GuiError("the window never became active")
        time.sleep(0.05)


FOCUS_RING_SECONDS = 0.4        # Adwaita fades a focus ring in over 200 ms


def shot_of_focus(s, key, path, tries=3):
    """Press @key, wait for the focus to move with focus rings on, and take
    a screenshot once the ring has faded in. GTK turns focus rings off 3 s
    after a key press (VISIBLE_FOCUS_DURATION); if that happened before the
    screenshot was done, on a slow machine, go back and forth to the same
    stop and take it again. Returns (path, focused widget type)."""
    for _ in range(tries):
        mark = s.app.mark()
        s.key(key)
        s.app.wait_for(lambda e: e.get("event") == "focus" and e["visible"],
                       since=mark, what=f"the focus to move after {key}")
        time.sleep(FOCUS_RING_SECONDS)
        shot = s.screenshot(path)
        # The last focus event says where the focus was for the screenshot.
        focus = [e for e in s.app.since(mark) if e.get("event") == "focus"][-1]
        if focus["visible"]:
            return shot, focus["widget"]
        back = "shift+Tab" if key == "Tab" else "Tab"
        s.key(back)
        time.sleep(FOCUS_RING_SECONDS)
    raise GuiError(f"focus rings were off again before a screenshot after {key}, "
                   f"{tries} times")


def check_tab_stops_visible(tap, app_path):
    """Tab round a fresh window: every stop must change the window from
    how it looked with no focus ring, or keyboard users lose their place.
    A scrolled window with nothing to focus inside takes a Tab stop of its
    own, which Adwaita does not mark; the Draw page's side panel was one."""
    folder = artifacts_dir()
    with Session(app_path, folder, "shortcuts-tab", APP_ARGS) as s:
        s.xdotool("windowfocus", "--sync", s.window)
        wait_until_active(s)
        plain = s.screenshot(os.path.join(folder, "tab-none.png"))
        shots = []
        unmarked = []
        round_trip = False
        for stop in range(1, MAX_TAB_STOPS + 1):
            shot, widget = shot_of_focus(s, "Tab", os.path.join(folder, f"tab-{stop}.png"))
            if shots and harness.differing_pixels(shots[0], shot) == 0:
                round_trip = True       # back at the first stop
                break
            shots.append(shot)
            marked = harness.differing_pixels(plain, shot)
            if marked < MIN_FOCUS_RING_PIXELS:
                unmarked.append(f"stop {stop}, a {widget} ({marked} pixels changed, {shot})")
        tap.diag(f"{len(shots)} Tab stops in the Draw page's window")
        tap.result(round_trip and len(shots) >= 3,
                   "Tab goes round the window's stops and back to the first",
                   f"{len(shots)} stops, {'back' if round_trip else 'not back'} at the first "
                   f"after {MAX_TAB_STOPS} presses at most")
        tap.result(not unmarked, "every Tab stop shows where the focus is",
                   "; ".join(unmarked))


# ---- live --------------------------------------------------------------------

def test_live(tap, app_path):
    with Session(app_path, artifacts_dir(), "live", APP_ARGS) as s:
        if not has_model(tap, s):
            return
        w, h = s.canvas["width"], s.canvas["height"]
        # A big slow '8' in one stroke: several seconds of drawing.
        drawing = hershey.make_drawing(8, "futural", w, h, rng=random.Random("gui-live"),
                                       pen_width=False,
                                       ranges={"height": (0.8, 0.85), "step": (6.0, 7.0),
                                               "rotation": (0, 0), "slant": (0, 0)})
        stroke = drawing["strokes"][0]
        mark = s.app.mark()
        started = time.monotonic()
        s.drag(stroke)
        ended = time.monotonic()
        _, final = s.app.wait_for(lambda e: e.get("event") == "prediction" and e.get("final"),
                                  since=mark, what="final prediction")
        timed = s.app.timed_since(mark)
        live = [t for t, e in timed if e.get("event") == "prediction" and e.get("final") is False]
        final_at = next(t for t, e in timed if e.get("event") == "prediction" and e.get("final"))
        seconds = ended - started
        rate = len(live) / seconds
        tap.diag(f"{len(stroke)} pointer events over {seconds:.2f} s: {len(live)} live predictions "
                 f"({rate:.1f}/s), final {1000 * (final_at - ended):+.0f} ms after button up")
        tap.result(len(live) >= 3 and all(t <= final_at for t in live),
                   "several live predictions arrive before the final one",
                   f"{len(live)} live predictions")
        tap.result(rate >= MIN_LIVE_RATE,
                   f"live predictions come at {rate:.1f}/s >= {MIN_LIVE_RATE:.0f}/s while drawing")
        invalid = [p for p in (prediction_problem(e) for _, e in timed
                               if e.get("event") == "prediction") if p]
        tap.result(not invalid, "live predictions are valid", "; ".join(invalid[:5]))
        tap.diag(f"final: {final.get('digit')} ({final.get('confidence', 0):.3f})")

        # The app logs what it recognised right before the final prediction.
        events = [e for _, e in timed]
        i_final = next(i for i, e in enumerate(events)
                       if e.get("event") == "prediction" and e.get("final"))
        drawing = events[i_final - 1].get("drawing") if i_final > 0 else None
        logged = (isinstance(drawing, dict) and events[i_final - 1].get("event") == "drawing"
                  and drawing.get("width") == drawing.get("height") == 280
                  and len(drawing.get("strokes", [])) == 1)
        tap.result(logged, "a drawing event of one stroke on the 280x280 canvas comes right "
                   "before the final prediction", f"event before it: {events[i_final - 1]}"
                   if i_final > 0 else "no event before it")
        if logged:
            check_cli_reads_as_app(tap, s, app_path, drawing, final)


# ---- screenshot --------------------------------------------------------------

def test_screenshot(tap, app_path):
    folder = artifacts_dir()
    with Session(app_path, folder, "screenshot", APP_ARGS) as s:
        w, h = s.canvas["width"], s.canvas["height"]
        area = w * h * s.scale ** 2      # in screen pixels
        empty = s.screenshot(os.path.join(folder, "canvas-empty.png"), region="canvas")
        drawing = hershey.make_drawing(3, "futural", w, h, rng=random.Random("gui-shot"),
                                       pen_width=False, ranges={"height": (0.7, 0.75)})
        if s.has_model():
            final = s.draw(drawing["strokes"])
        else:                           # the drawing shows all the same
            for stroke in drawing["strokes"]:
                s.drag(stroke)
            final = {}
        time.sleep(0.3)                 # let the last frame reach the X server
        drawn = s.screenshot(os.path.join(folder, "canvas-drawn.png"), region="canvas")
        window = s.screenshot(os.path.join(folder, "window.png"))
        changed = harness.differing_pixels(empty, drawn)
        tap.diag(f"window {s.window_geometry['WIDTH']}x{s.window_geometry['HEIGHT']} saved as {window}; "
                 f"drawing changed {changed} of {area} canvas pixels; read as {final.get('digit')}")
        # A '3' at 70% of the canvas height with the default pen covers
        # several percent of the canvas; an unchanged canvas is a broken view.
        tap.result(changed >= 0.02 * area, "the drawing shows on the screen's canvas",
                   f"only {changed} pixels changed")
        tap.result(changed <= 0.6 * area, "the drawing does not repaint the whole canvas",
                   f"{changed} pixels changed")
        s.clear()
        time.sleep(0.3)
        cleared = s.screenshot(os.path.join(folder, "canvas-cleared.png"), region="canvas")
        left = harness.differing_pixels(empty, cleared)
        tap.result(left <= 0.002 * area, "clearing leaves the canvas as it started",
                   f"{left} pixels differ from the empty canvas")


# ---- launch ------------------------------------------------------------------

def test_launch(tap, app_path):
    times = []
    for i in range(3):
        with Session(app_path, artifacts_dir(), f"launch-{i + 1}", APP_ARGS) as s:
            times.append(s.launch_seconds)
            g, c, k = s.window_geometry, s.canvas, s.scale
            inside = (c["x"] >= 0 and c["y"] >= 0 and (c["x"] + c["width"]) * k <= g["WIDTH"]
                      and (c["y"] + c["height"]) * k <= g["HEIGHT"])
            if i == 0:
                tap.result(inside, "the ready event's canvas lies inside the window",
                           f"canvas {c}, window {g}")
    tap.diag(f"launch to ready: median {statistics.median(times):.2f} s "
             f"({', '.join(f'{t:.2f}' for t in times)})")
    tap.result(len(times) == 3, "the app starts and reports ready 3 times in a row")


TESTS = {
    "digits": test_digits,
    "shortcuts": test_shortcuts,
    "live": test_live,
    "screenshot": test_screenshot,
    "launch": test_launch,
}


def main():
    global APP_ARGS
    parser = argparse.ArgumentParser(description="Digit Lab's GUI tests (TAP output).")
    parser.add_argument("app", help="the digitlab program")
    parser.add_argument("--model", help="start the app with this model file")
    parser.add_argument("tests", nargs="*", metavar="TEST",
                        help=f"tests to run: {', '.join(TESTS)} (default: all)")
    args = parser.parse_intermixed_args()
    unknown = [n for n in args.tests if n not in TESTS]
    if unknown:
        parser.error(f"unknown test(s) {', '.join(unknown)}; known: {', '.join(TESTS)}")
    app_path = os.path.abspath(args.app)
    names = args.tests or list(TESTS)
    if args.model:
        APP_ARGS = ["--model", os.path.abspath(args.model)]

    tap = Tap()
    if not os.access(app_path, os.X_OK):
        tap.skip_all(f"{app_path} is not an executable")
    missing = harness.missing_tools()
    if missing:
        tap.skip_all(f"missing {', '.join(missing)} (xvfb xdotool imagemagick dbus)")
    try:
        hershey.font_digits("futural")
    except hershey.FixtureError as e:
        tap.skip_all(str(e))

    harness.run_on_private_bus()
    harness.set_deadline(DEADLINE)
    for name in names:
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
