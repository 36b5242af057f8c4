"""Drives the real digitlab window headlessly, the way /work/shared/GUI-TESTING.md
found to work: a private Xvfb (display number read from -displayfd), a
private session bus (dbus-run-session), the app started directly so its pid
is known, its window found by that pid, real pointer drags and key presses
from xdotool, screenshots with ImageMagick's import.

The app is run with --log-predictions, so it writes one JSON object per
line on stdout (ready, prediction, cleared, undo, redo, model); a reader
thread timestamps them as they arrive and the tests wait on them.

Every process started here is killed by pid on the way out, whatever way
that is: normal end, exception, SIGTERM from meson's timeout, or the
harness's own deadline (SIGALRM).
"""

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time

X_ENV = {
    "GDK_BACKEND": "x11",
    "GSK_RENDERER": "cairo",    # no GPU here; and the most deterministic pixels
    "GTK_A11Y": "none",
    "NO_AT_BRIDGE": "1",
    "GSETTINGS_BACKEND": "memory",
    "DIGITLAB_LOG_PREDICTIONS": "1",
}
SCREEN = os.environ.get("DIGITLAB_GUI_SCREEN", "2560x1600x24")   # room for GDK_SCALE=2
MOVE_PAUSE = 0.02    # GTK merges motion that comes faster than it handles it
BUS_MARK = "DIGITLAB_GUI_TEST_BUS"
REQUIRED_TOOLS = ("Xvfb", "xdotool", "import", "compare", "dbus-run-session")


class GuiError(Exception):
    pass


class Deadline(Exception):
    """The outer timeout or a termination signal: stop everything."""


def missing_tools():
    return [t for t in REQUIRED_TOOLS if shutil.which(t) is None]


def run_on_private_bus():
    """Re-runs this script under dbus-run-session, once, so the app has a
    session bus of its own that goes away with the test."""
    if os.environ.get(BUS_MARK) == "1":
        return
    os.environ[BUS_MARK] = "1"
    sys.stdout.flush()
    os.execvp("dbus-run-session", ["dbus-run-session", "--", sys.executable, *sys.argv])


def _raise_deadline(signum, frame):
    raise Deadline(f"GUI test took longer than its deadline (signal {signum})")


def set_deadline(seconds):
    """Outer timeout: SIGALRM, and meson's SIGTERM, unwind through the
    sessions' cleanup instead of leaving an app and an X server behind."""
    signal.signal(signal.SIGALRM, _raise_deadline)
    signal.signal(signal.SIGTERM, _raise_deadline)
    signal.alarm(int(seconds))


def _die_with_parent():
    """Runs in the child before exec: if the harness itself is killed
    outright (SIGKILL leaves no chance to clean up), the kernel ends the
    child too, so no X server or app outlives its test."""
    try:
        import ctypes
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _stop(proc, grace=3.0):
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.terminate()
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(grace)
    except ProcessLookupError:
        pass


class XServer:
    """A private Xvfb on the first free display."""

    def __init__(self, log_path):
        self.proc = None
        self.display = None
        self.log_path = log_path

    def start(self, timeout=30.0):
        read_fd, write_fd = os.pipe()
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", SCREEN,
                 "-nolisten", "tcp", "-noreset"],
                pass_fds=[write_fd], stdin=subprocess.DEVNULL,
                stdout=log, stderr=log, preexec_fn=_die_with_parent)
        os.close(write_fd)
        text = b""
        end = time.monotonic() + timeout
        try:
            while not text.endswith(b"\n"):
                left = end - time.monotonic()
                if left <= 0 or not select.select([read_fd], [], [], left)[0]:
                    raise GuiError(f"Xvfb did not report its display within {timeout:.0f} s")
                chunk = os.read(read_fd, 64)
                if not chunk:
                    raise GuiError(f"Xvfb exited before reporting a display (see {self.log_path})")
                text += chunk
        finally:
            os.close(read_fd)
        self.display = ":" + text.decode().strip()
        return self.display

    def stop(self):
        _stop(self.proc)


class App:
    """The app under test and the JSON events it writes."""

    def __init__(self, argv, env, stderr_path):
        self.argv = argv
        self.env = env
        self.stderr_path = stderr_path
        self.proc = None
        self.events = []            # (arrival time, event dict)
        self.text_lines = []        # stdout lines that are not JSON
        self.cond = threading.Condition()
        self.started_at = None
        self.closed = False

    @property
    def pid(self):
        return self.proc.pid

    def start(self):
        with open(self.stderr_path, "wb") as err:
            self.started_at = time.monotonic()
            self.proc = subprocess.Popen(self.argv, env=self.env, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=err,
                                         preexec_fn=_die_with_parent)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            now = time.monotonic()
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                event = None
            with self.cond:
                if isinstance(event, dict) and "event" in event:
                    self.events.append((now, event))
                else:
                    self.text_lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def mark(self):
        """A bookmark in the event stream for wait_for and since."""
        with self.cond:
            return len(self.events)

    def since(self, mark):
        with self.cond:
            return [e for _, e in self.events[mark:]]

    def timed_since(self, mark):
        with self.cond:
            return list(self.events[mark:])

    def wait_for(self, match, since=0, timeout=10.0, what="event"):
        """The first event after @since that @match accepts, as (index,
        event); raises GuiError after @timeout seconds or if the app ends."""
        end = time.monotonic() + timeout
        index = since
        with self.cond:
            while True:
                while index < len(self.events):
                    if match(self.events[index][1]):
                        return index, self.events[index][1]
                    index += 1
                if self.closed:
                    raise GuiError(f"the app exited (status {self.proc.wait()}) while waiting for {what}"
                                   f"; see {self.stderr_path}")
                left = end - time.monotonic()
                if left <= 0:
                    recent = [e for _, e in self.events[max(since, len(self.events) - 5):]]
                    raise GuiError(f"no {what} within {timeout:.0f} s; events since: {short(recent)}")
                self.cond.wait(left)

    def stop(self):
        _stop(self.proc)


def short(events):
    """Events without their long probability lists, for messages."""
    out = []
    for e in events:
        e = dict(e)
        if "probabilities" in e:
            e.pop("probabilities")
        out.append(e)
    return json.dumps(out)


def is_event(kind, **fields):
    return lambda e: e.get("event") == kind and all(e.get(k) == v for k, v in fields.items())


class Session:
    """One app on one private X server, ready to be drawn on.

        with Session(app_path, artifacts, "digits") as s:
            s.draw([[(10, 10), (100, 100)]])
    """

    def __init__(self, app_path, artifacts_dir, name, extra_args=(), ready_timeout=60.0):
        self.app_path = app_path
        self.artifacts = artifacts_dir
        self.name = name
        self.extra_args = list(extra_args)
        self.ready_timeout = ready_timeout
        self.xserver = None
        self.app = None
        self.window = None
        self.canvas = None          # window coordinates, from the ready event
        self.scale = 1              # device pixels per logical pixel
        self.origin = None          # the canvas's top-left on the screen
        self.window_geometry = None
        self.launch_seconds = None

    def __enter__(self):
        try:
            self._start()
        except BaseException:
            self._finish()
            raise
        return self

    def __exit__(self, *exc):
        self._finish()
        return False

    def _env(self):
        env = dict(os.environ)
        env.update(X_ENV)
        env["DISPLAY"] = self.xserver.display
        env.pop("WAYLAND_DISPLAY", None)
        env.pop(BUS_MARK, None)
        build = env.get("DIGITLAB_BUILD_ROOT")
        if build and os.path.exists(os.path.join(build, "resources", "gschemas.compiled")):
            env["GSETTINGS_SCHEMA_DIR"] = os.path.join(build, "resources")
        return env

    def _start(self):
        os.makedirs(self.artifacts, exist_ok=True)
        self.xserver = XServer(os.path.join(self.artifacts, f"gui-{self.name}-xvfb.log"))
        self.xserver.start()
        self.app = App([self.app_path, "--log-predictions", *self.extra_args], self._env(),
                       os.path.join(self.artifacts, f"gui-{self.name}-app.log"))
        self.app.start()
        _, ready = self.app.wait_for(is_event("ready"), timeout=self.ready_timeout,
                                     what="ready event")
        ready_at = next(t for t, e in self.app.events if e.get("event") == "ready")
        self.launch_seconds = ready_at - self.app.started_at
        self.canvas = ready["canvas"]
        if self.canvas["width"] < 50 or self.canvas["height"] < 50:
            raise GuiError(f"the canvas is too small to draw on: {self.canvas}")
        # The event speaks in logical pixels; X in device pixels.
        self.scale = int(ready.get("scale", 1)) or 1
        self.window = self._find_window()
        self.window_geometry = self.geometry()
        self.origin = (self.window_geometry["X"] + self.canvas["x"] * self.scale,
                       self.window_geometry["Y"] + self.canvas["y"] * self.scale)

    def _finish(self):
        if self.app:
            self.app.stop()
            with open(os.path.join(self.artifacts, f"gui-{self.name}-events.jsonl"), "w") as f:
                for t, e in self.app.events:
                    f.write(json.dumps({"t": round(t - self.app.started_at, 4), **e}) + "\n")
        if self.xserver:
            self.xserver.stop()

    # ---- X11 ----

    def xdotool(self, *args, timeout=60.0):
        env = dict(os.environ, DISPLAY=self.xserver.display)
        try:
            proc = subprocess.run(["xdotool", *map(str, args)], env=env, capture_output=True,
                                  text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise GuiError(f"xdotool {' '.join(map(str, args[:6]))}... hung for {timeout:.0f} s")
        if proc.returncode != 0:
            raise GuiError(f"xdotool {' '.join(map(str, args[:6]))}... failed: "
                           f"{proc.stderr.strip() or proc.returncode}")
        return proc.stdout

    def _find_window(self):
        ids = self.xdotool("search", "--sync", "--onlyvisible", "--pid", self.app.pid,
                           timeout=30).split()
        if not ids:
            raise GuiError(f"no visible window belongs to pid {self.app.pid}")
        # GTK may map small helper windows too; the app's window is the big one.
        def area(wid):
            g = self.geometry(wid)
            return g["WIDTH"] * g["HEIGHT"]
        return max(ids, key=area)

    def geometry(self, wid=None):
        out = self.xdotool("getwindowgeometry", "--shell", wid or self.window)
        values = dict(line.split("=", 1) for line in out.split() if "=" in line)
        return {k: int(v) for k, v in values.items() if v.lstrip("-").isdigit()}

    def model(self):
        """The app's latest model event ({"name": null, ...} when it has
        none), or None if it has not said."""
        try:
            self.app.wait_for(is_event("model"), timeout=5.0, what="model event")
        except GuiError:
            return None
        models = [e for e in self.app.since(0) if e.get("event") == "model"]
        return models[-1]

    def has_model(self):
        model = self.model()
        return bool(model and (model.get("name") or model.get("arch")))

    def to_screen(self, x, y):
        """Canvas (logical) coordinates to screen pixels."""
        return (int(round(self.origin[0] + x * self.scale)),
                int(round(self.origin[1] + y * self.scale)))

    def drag(self, points, pause=MOVE_PAUSE):
        """One stroke: button down at the first point, a real motion event
        per point with a pause after each, button up at the last.  One
        xdotool process runs the whole chain, so the pauses are even."""
        screen = []
        for x, y in points:
            p = self.to_screen(x, y)
            if not screen or p != screen[-1]:
                screen.append(p)
        args = ["mousemove", *screen[0], "sleep", pause, "mousedown", 1, "sleep", pause]
        for p in screen[1:]:
            args += ["mousemove", *p, "sleep", pause]
        args += ["mouseup", 1, "sleep", pause]
        self.xdotool(*args, timeout=30 + len(screen) * pause * 5)

    def draw(self, strokes, pause=MOVE_PAUSE, final_timeout=15.0):
        """Draws @strokes (canvas coordinates) and waits for the final
        prediction that counts them all; returns that event."""
        mark = self.app.mark()
        for stroke in strokes:
            self.drag(stroke, pause)
        _, final = self.app.wait_for(
            lambda e: e.get("event") == "prediction" and e.get("final") is True
            and e.get("strokes") == len(strokes),
            since=mark, timeout=final_timeout,
            what=f"final prediction for {len(strokes)} stroke(s)")
        return final

    def key(self, *keys):
        """Presses key combinations (xdotool names: Delete, ctrl+z, ...) in
        the app's window; there is no window manager, so focus it first."""
        self.xdotool("windowfocus", "--sync", self.window, "key", "--clearmodifiers", *keys)

    def clear(self, key="Delete"):
        mark = self.app.mark()
        self.key(key)
        self.app.wait_for(is_event("cleared"), since=mark, what=f"cleared after {key}")

    def screenshot(self, path, region="window"):
        """A PNG of the window (or of the canvas with region="canvas")."""
        if region == "canvas":
            x, y = self.origin
            w, h = self.canvas["width"] * self.scale, self.canvas["height"] * self.scale
        else:
            g = self.geometry()
            x, y, w, h = g["X"], g["Y"], g["WIDTH"], g["HEIGHT"]
        env = dict(os.environ, DISPLAY=self.xserver.display)
        try:
            proc = subprocess.run(["import", "-window", "root", "-crop", f"{w}x{h}+{x}+{y}",
                                   "+repage", path], env=env, capture_output=True, text=True,
                                  timeout=60)
        except subprocess.TimeoutExpired:
            raise GuiError("import hung taking a screenshot")
        if proc.returncode != 0:
            raise GuiError(f"import failed: {proc.stderr.strip()}")
        return path


def differing_pixels(a, b, fuzz="10%"):
    """How many pixels differ between two same-sized PNGs (ImageMagick's
    compare, absolute error count)."""
    proc = subprocess.run(["compare", "-metric", "AE", "-fuzz", fuzz, a, b, "null:"],
                          capture_output=True, text=True, timeout=60)
    if proc.returncode not in (0, 1):
        raise GuiError(f"compare failed: {proc.stderr.strip()}")
    return int(float(proc.stderr.split()[0]))
