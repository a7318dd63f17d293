"""The Simplified Chinese (zh-Hans) catalogue is complete and the compiled .mo matches it.

The catalogue lives in ``locale/zh_Hans/LC_MESSAGES/``. After adding or changing a
user-facing string, run ``make messages``: it regenerates ``django.po`` with
``makemessages`` and compiles ``django.mo`` with ``compilemessages`` (both need
GNU gettext). Translate the new entries, remove their ``#, fuzzy`` flags, run
``make messages`` again and commit both files; the ``.mo`` is committed so that a
fresh machine needs no gettext.

These tests read the files with polib only: they need neither gettext nor a database.
"""

import re
from collections import Counter
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation

LC_MESSAGES = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_PATH = LC_MESSAGES / "django.po"
MO_PATH = LC_MESSAGES / "django.mo"

# %(name)s and %s style directives, with optional flags, width and precision.
NAMED = re.compile(r"%\((\w+)\)[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
POSITIONAL = re.compile(r"%(?!\()[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
BRACE = re.compile(r"(?<!\{)\{(\w*)(?:![rsa])?(?::[^{}]*)?\}(?!\})")
TAG = re.compile(r"</?[a-zA-Z][^>]*>")
ENTITY = re.compile(r"&[a-zA-Z]+;|&#\d+;")


@pytest.fixture(scope="module")
def catalogue() -> polib.POFile:
    return polib.pofile(str(PO_PATH))


def entry_id(entry: polib.POEntry) -> str:
    return f"{entry.msgctxt}|{entry.msgid}" if entry.msgctxt else entry.msgid


def translation_of(entry: polib.POEntry) -> str:
    if entry.msgid_plural:
        return entry.msgstr_plural.get(0, "")
    return entry.msgstr


def tokens(text: str, python_format: bool) -> dict[str, object]:
    found: dict[str, object] = {
        "brace": set(BRACE.findall(text)),
        "tags": Counter(TAG.findall(text)),
        "entities": Counter(ENTITY.findall(text)),
    }
    if python_format:
        without_literal_percent = text.replace("%%", "")
        found["named"] = set(NAMED.findall(without_literal_percent))
        found["positional"] = POSITIONAL.findall(without_literal_percent)
        found["literal percent"] = text.count("%%")
    return found


def test_the_header_declares_chinese_with_one_plural_form(catalogue):
    assert catalogue.metadata["Language"] == "zh_Hans"
    assert catalogue.metadata["Plural-Forms"].replace(" ", "") == "nplurals=1;plural=0;"
    assert "charset=UTF-8" in catalogue.metadata["Content-Type"]
    assert not catalogue.metadata_is_fuzzy


def test_the_catalogue_is_not_empty(catalogue):
    assert len([e for e in catalogue if not e.obsolete]) > 500


def test_every_entry_is_translated(catalogue):
    untranslated = [entry_id(e) for e in catalogue if not e.obsolete and not translation_of(e)]

    assert untranslated == [], f"{len(untranslated)} untranslated: {untranslated[:20]}"


def test_plural_entries_have_exactly_the_one_chinese_form(catalogue):
    wrong = [entry_id(e) for e in catalogue if e.msgid_plural and sorted(e.msgstr_plural) != [0]]

    assert wrong == []


def test_no_entry_is_fuzzy(catalogue):
    fuzzy = [entry_id(e) for e in catalogue if "fuzzy" in e.flags]

    assert fuzzy == [], f"check these translations and remove their fuzzy flag: {fuzzy}"


def test_no_entry_is_obsolete(catalogue):
    obsolete = [entry_id(e) for e in catalogue.obsolete_entries()]

    assert obsolete == [], "regenerate with `make messages` (it passes --no-obsolete)"


def test_placeholders_and_markup_survive_translation(catalogue):
    mismatches = []
    for entry in catalogue:
        if entry.obsolete or not translation_of(entry):
            continue
        python_format = "python-format" in entry.flags
        # Chinese has one plural form, used for every count: it must hold what the plural holds.
        source = entry.msgid_plural or entry.msgid
        expected = tokens(source, python_format)
        actual = tokens(translation_of(entry), python_format)
        if expected != actual:
            mismatches.append((entry_id(entry), expected, actual))

    assert mismatches == []


def test_the_compiled_catalogue_matches_the_po_file(catalogue):
    assert MO_PATH.exists(), "run `make messages` to compile django.mo"
    compiled = polib.mofile(str(MO_PATH))

    def as_dict(entries):
        result = {}
        for e in entries:
            if e.obsolete or "fuzzy" in e.flags or not e.msgid:
                continue
            key = (e.msgctxt, e.msgid, e.msgid_plural)
            result[key] = dict(e.msgstr_plural) if e.msgid_plural else e.msgstr
        return result

    in_po, in_mo = as_dict(catalogue), as_dict(compiled)

    assert sorted(set(in_po) - set(in_mo), key=str) == [], "not compiled: run `make messages`"
    assert sorted(set(in_mo) - set(in_po), key=str) == [], "stale .mo: run `make messages`"
    stale = [key[1] for key in in_po if in_po[key] != in_mo[key]]
    assert stale == [], "the .mo is out of date: run `make messages`"


def test_django_serves_the_compiled_catalogue():
    with translation.override("zh-hans"):
        assert translation.gettext("Sign in") == "登录"
        assert translation.gettext("Credit manager") == "信用经理"
        buyers = translation.ngettext("%(counter)s buyer", "%(counter)s buyers", 3)
        assert buyers % {"counter": 3} == "3 个买方"
