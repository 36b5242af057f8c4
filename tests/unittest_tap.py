"""unittest_tap.py — runs a module's unittest cases and reports them as TAP,
so meson lists every test method on its own line (protocol: 'tap').

    if __name__ == "__main__":
        sys.exit(unittest_tap.main())
"""

import sys
import traceback
import unittest


class TapResult(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.n = 0

    def _line(self, ok, test, directive=""):
        self.n += 1
        # A failing setUpClass comes as an _ErrorHolder, named by str().
        method = getattr(test, "_testMethodName", None)
        name = f"{type(test).__name__}.{method}" if method else str(test)
        print(f"{'ok' if ok else 'not ok'} {self.n} - {name}{directive}", flush=True)

    def _diagnose(self, err):
        for line in "".join(traceback.format_exception(*err)).splitlines():
            print(f"# {line}", flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(True, test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(False, test)
        self._diagnose(err)

    def addError(self, test, err):
        super().addError(test, err)
        self._line(False, test)
        self._diagnose(err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line(True, test, f" # SKIP {reason}")

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._line(True, test, " # TODO expected failure")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._line(False, test, " # unexpected success")


def main(module="__main__"):
    """Runs every TestCase in @module; returns the exit status."""
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[module])
    result = TapResult()
    suite.run(result)
    if result.n == 0:
        print("1..0 # SKIP no tests ran", flush=True)
    else:
        print(f"1..{result.n}", flush=True)
    return 0 if result.wasSuccessful() else 1
