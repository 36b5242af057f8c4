#!/usr/bin/python3
"""test-translations.py — every catalogue in po/ is complete and correct, and
the programs speak it when run uninstalled.

For each language in po/LINGUAS: msgfmt --check finds no error, no fuzzy and
no untranslated message, and every accelerator survives translation; a .pot
extracted afresh from the sources listed in po/POTFILES.in (xgettext with
meson's 'glib' preset, into a temporary folder) has no message the catalogue
lacks, so a string added to the code cannot go untranslated unnoticed. The
extraction itself must be clean: a GLib format macro inside _() cuts the
message short and makes it untranslatable, which xgettext warns about.
POTFILES.in must list every file that has translatable strings, and every
visible text in ui/*.ui must be marked translatable. The .desktop keywords
must stay a ';'-terminated list. Finally digitlab-cli, pointed at the build
tree's catalogues by DIGITLAB_LOCALEDIR as `meson devenv` does, must print
its refusal of `train --epochs 0` in German, French and Spanish.

    test-translations.py PATH/TO/digitlab-cli      (TAP on stdout)
"""

import os
import re
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import unittest_tap  # noqa: E402

SOURCE_ROOT = os.environ.get("DIGITLAB_SOURCE_ROOT",
                             os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_ROOT = os.environ.get("DIGITLAB_BUILD_ROOT", "")
PO_DIR = os.path.join(SOURCE_ROOT, "po")
CLI = sys.argv[1] if len(sys.argv) > 1 else None
DOMAIN = "digitlab"
REQUIRED_LANGUAGES = {"de", "fr", "es"}

# meson's i18n.gettext(preset: 'glib') arguments (mesonbuild/modules/i18n.py).
GLIB_PRESET = [
    "--from-code=UTF-8", "--add-comments",
    "--keyword=_", "--keyword=N_", "--keyword=C_:1c,2", "--keyword=NC_:1c,2",
    "--keyword=g_dcgettext:2", "--keyword=g_dngettext:2,3", "--keyword=g_dpgettext2:2c,3",
    "--flag=N_:1:pass-c-format", "--flag=C_:2:pass-c-format", "--flag=NC_:2:pass-c-format",
    "--flag=g_dngettext:2:pass-c-format", "--flag=g_strdup_printf:1:c-format",
    "--flag=g_string_printf:2:c-format", "--flag=g_string_append_printf:2:c-format",
    "--flag=g_error_new:3:c-format", "--flag=g_set_error:4:c-format",
    "--flag=g_markup_printf_escaped:1:c-format", "--flag=g_log:3:c-format",
    "--flag=g_print:1:c-format", "--flag=g_printerr:1:c-format", "--flag=g_printf:1:c-format",
    "--flag=g_fprintf:2:c-format", "--flag=g_sprintf:2:c-format", "--flag=g_snprintf:3:c-format",
]

# Where translatable strings live, and how they are marked.
SOURCE_DIRS = ["app", "engine", "ui", "resources"]
MARKERS = re.compile(r'\b(?:N?C?_|g_dngettext|g_dpgettext2|g_dcgettext)\s*\(\s*(?:GETTEXT_PACKAGE\s*,\s*)?"'
                     r'|translatable="yes"')
DATA_SUFFIXES = (".desktop.in", ".metainfo.xml.in", ".appdata.xml.in", ".gschema.xml")

# GtkBuilder properties and menu attributes a user reads or hears.
VISIBLE_PROPERTIES = {"label", "title", "subtitle", "tooltip-text", "tooltip-markup",
                      "placeholder-text", "description", "text", "heading", "body",
                      "accessible-name", "secondary-text", "primary-text", "comments"}

# `digitlab-cli train --epochs 0 --out FILE` refuses the impossible epoch count.
EPOCHS_ZERO = {
    "de": "digitlab-cli: --epochs muss mindestens 1 sein, nicht 0",
    "fr": "digitlab-cli: --epochs doit valoir au moins 1, pas 0",
    "es": "digitlab-cli: --epochs debe ser al menos 1, no 0",
}
EPOCHS_ZERO_ENGLISH = "digitlab-cli: --epochs must be at least 1, not 0"


def languages():
    with open(os.path.join(PO_DIR, "LINGUAS"), encoding="utf-8") as f:
        return [w for line in f for w in line.split("#", 1)[0].split()]


def potfiles():
    with open(os.path.join(PO_DIR, "POTFILES.in"), encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def read_po(path):
    """{(msgctxt, msgid): msgstr} of a PO file; plural entries keep msgstr[0]."""
    entries = {}
    with open(path, encoding="utf-8") as f:
        blocks = f.read().split("\n\n")
    for block in blocks:
        fields, field = {}, None
        for line in block.splitlines():
            line = line.strip()
            m = re.match(r'(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+"(.*)"$', line)
            if m:
                field = m.group(1)
                fields[field] = unescape(m.group(2))
            elif line.startswith('"') and field is not None:
                fields[field] += unescape(line[1:-1])
            else:
                field = None   # comments, obsolete "#~" entries
        if "msgid" in fields:
            entries[(fields.get("msgctxt"), fields["msgid"])] = \
                fields.get("msgstr", fields.get("msgstr[0]", ""))
    return entries


def unescape(text):
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    return re.sub(r'\\(.)', lambda m: escapes.get(m.group(1), m.group(0)), text)


class Catalogues(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.languages = languages()
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pot = os.path.join(cls.tmp.name, DOMAIN + ".pot")
        cls.xgettext = subprocess.run(
            ["xgettext", "--package-name=" + DOMAIN, "-f", os.path.join(PO_DIR, "POTFILES.in"),
             "-D", SOURCE_ROOT, "-k_", "-o", cls.pot] + GLIB_PRESET,
            capture_output=True, text=True)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_languages_listed(self):
        self.assertTrue(REQUIRED_LANGUAGES <= set(self.languages), self.languages)
        for lang in self.languages:
            self.assertTrue(os.path.isfile(os.path.join(PO_DIR, lang + ".po")), lang)

    def test_catalogues_check_clean_and_complete(self):
        problems = []
        for lang in self.languages:
            r = subprocess.run(["msgfmt", "--check", "--check-accelerators=_", "--statistics",
                                "-o", os.devnull, os.path.join(PO_DIR, lang + ".po")],
                               capture_output=True, text=True, env=dict(os.environ, LC_ALL="C"))
            # Only "N translated messages." when nothing is fuzzy or untranslated.
            if r.returncode != 0 or not re.fullmatch(r"\d+ translated messages?\.", r.stderr.strip()):
                problems.append(f"{lang}.po: {r.stderr.strip()}")
        if problems:
            self.fail("\n".join(problems))

    def test_extraction_is_clean(self):
        self.assertEqual(self.xgettext.returncode, 0, self.xgettext.stderr)
        self.assertNotIn("warning", self.xgettext.stderr.lower(), self.xgettext.stderr)
        self.assertGreater(len(read_po(self.pot)), 100)

    def test_every_current_message_translated(self):
        self.assertEqual(self.xgettext.returncode, 0, self.xgettext.stderr)
        problems = []
        for lang in self.languages:
            # msgcmp counts untranslated and fuzzy entries as missing.
            r = subprocess.run(["msgcmp", os.path.join(PO_DIR, lang + ".po"), self.pot],
                               capture_output=True, text=True, env=dict(os.environ, LC_ALL="C"))
            if r.returncode != 0:
                problems.append(f"{lang}.po lacks messages:\n{r.stderr}")
        if problems:
            self.fail("\n".join(problems) + "run `meson compile digitlab-update-po` and translate them")

    def test_potfiles_lists_every_file_with_strings(self):
        listed = potfiles()
        for path in listed:
            self.assertTrue(os.path.isfile(os.path.join(SOURCE_ROOT, path)),
                            f"POTFILES.in lists {path}, which does not exist")
        marked = set()
        for top in SOURCE_DIRS:
            for folder, _, names in os.walk(os.path.join(SOURCE_ROOT, top)):
                for name in names:
                    path = os.path.join(folder, name)
                    rel = os.path.relpath(path, SOURCE_ROOT)
                    if name.endswith(DATA_SUFFIXES):
                        marked.add(rel)
                    elif name.endswith((".c", ".h", ".ui")):
                        with open(path, encoding="utf-8", errors="replace") as f:
                            if MARKERS.search(f.read()):
                                marked.add(rel)
        self.assertEqual(sorted(marked - set(listed)), [],
                         "files with translatable strings missing from po/POTFILES.in")

    def test_visible_ui_text_is_translatable(self):
        ui_dir = os.path.join(SOURCE_ROOT, "ui")
        bad = []
        for name in sorted(os.listdir(ui_dir)):
            if not name.endswith(".ui"):
                continue
            for element in ET.parse(os.path.join(ui_dir, name)).iter():
                if element.tag not in ("property", "attribute"):
                    continue
                text = (element.text or "").strip()
                if (element.get("name") in VISIBLE_PROPERTIES and re.search(r"[^\W\d_]", text)
                        and element.get("translatable") != "yes"):
                    bad.append(f"{name}: {element.get('name')} “{text}”")
        self.assertEqual(bad, [], "visible text not marked translatable=\"yes\"")

    def test_desktop_keywords_stay_a_list(self):
        desktop_in = os.path.join(SOURCE_ROOT, "resources", "io.github.digitlab.DigitLab.desktop.in")
        with open(desktop_in, encoding="utf-8") as f:
            keywords = re.search(r"^Keywords=(.*)$", f.read(), re.M).group(1)
        for lang in self.languages:
            translated = read_po(os.path.join(PO_DIR, lang + ".po")).get((None, keywords))
            self.assertTrue(translated, f"{lang}: the keywords are not translated")
            self.assertTrue(translated.endswith(";"), f"{lang}: {translated}")
            self.assertNotIn(";;", translated, lang)
            self.assertGreaterEqual(translated.count(";"), 5, f"{lang}: {translated}")

    def test_built_data_files_carry_translations(self):
        resources = os.path.join(BUILD_ROOT, "resources")
        desktop = os.path.join(resources, "io.github.digitlab.DigitLab.desktop")
        metainfo = os.path.join(resources, "io.github.digitlab.DigitLab.metainfo.xml")
        if not (os.path.isfile(desktop) and os.path.isfile(metainfo)):
            self.skipTest("the desktop app's data files are not built (-Dgui=false)")
        with open(desktop, encoding="utf-8") as f:
            entries = f.read()
        component = ET.parse(metainfo).getroot()
        lang_attr = "{http://www.w3.org/XML/1998/namespace}lang"
        for lang in sorted(REQUIRED_LANGUAGES):
            for key in ("Name", "GenericName", "Comment", "Keywords"):
                self.assertIn(f"\n{key}[{lang}]=", entries)
            paragraphs = [p for p in component.iter("p") if p.get(lang_attr) == lang]
            items = [li for li in component.iter("li") if li.get(lang_attr) == lang]
            self.assertGreaterEqual(len(paragraphs), 2, lang)
            self.assertGreaterEqual(len(items), 5, lang)
            self.assertTrue(any(s.get(lang_attr) == lang for s in component.iter("summary")), lang)


@unittest.skipUnless(CLI and BUILD_ROOT, "needs digitlab-cli and DIGITLAB_BUILD_ROOT")
class UninstalledCli(unittest.TestCase):
    def run_cli(self, language, devenv=True):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("LC_", "LANG")) and k != "DIGITLAB_LOCALEDIR"}
        # gettext ignores LANGUAGE in the plain C locale, not in C.UTF-8.
        env["LC_ALL"] = "C.UTF-8"
        if devenv:
            env["DIGITLAB_LOCALEDIR"] = os.path.join(BUILD_ROOT, "po")
        if language:
            env["LANGUAGE"] = language
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "never-written.safetensors")
            r = subprocess.run([CLI, "train", "--epochs", "0", "--out", out],
                               capture_output=True, text=True, env=env, timeout=60)
            self.assertFalse(os.path.exists(out))
        self.assertEqual(r.returncode, 2, r.stderr)
        return r.stderr.splitlines()[0]

    def test_catalogues_built_where_devenv_points(self):
        for lang in REQUIRED_LANGUAGES:
            mo = os.path.join(BUILD_ROOT, "po", lang, "LC_MESSAGES", DOMAIN + ".mo")
            self.assertTrue(os.path.isfile(mo), mo)
        r = subprocess.run(["meson", "devenv", "-C", BUILD_ROOT, "--dump"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest("meson devenv --dump is not available: " + r.stderr.strip())
        self.assertIn(f'DIGITLAB_LOCALEDIR="{os.path.join(BUILD_ROOT, "po")}"', r.stdout)

    def test_refusal_in_english_without_language(self):
        self.assertEqual(self.run_cli(None), EPOCHS_ZERO_ENGLISH)

    def test_refusal_translated(self):
        said = {lang: self.run_cli(lang) for lang in EPOCHS_ZERO}
        self.assertEqual(said, EPOCHS_ZERO)

    def test_translated_straight_from_the_build_tree(self):
        """Without meson devenv, a program in the build tree finds <build>/po."""
        said = {lang: self.run_cli(lang, devenv=False) for lang in EPOCHS_ZERO}
        self.assertEqual(said, EPOCHS_ZERO)


if __name__ == "__main__":
    sys.exit(unittest_tap.main())
