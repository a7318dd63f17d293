"""creditguard.reference.nace: the shipped NACE Rev. 2 table and the look-ups built on it."""

import csv
import re

import pytest

from creditguard.reference import nace

SHAPE = {
    "section": r"[A-U]",
    "division": r"\d\d",
    "group": r"\d\d\.\d",
    "class": r"\d\d\.\d\d",
}
PARENT_LEVEL = {"division": "section", "group": "division", "class": "group"}


def test_the_table_has_exactly_the_official_number_of_codes_per_level():
    levels = [row.level for row in nace.activities().values()]

    assert {level: levels.count(level) for level in SHAPE} == {
        "section": 21,
        "division": 88,
        "group": 272,
        "class": 615,
    }
    assert len(levels) == 996


def test_the_file_has_the_documented_header_and_one_row_per_code():
    with nace.TABLE.open(encoding="utf-8", newline="") as file:
        rows = list(csv.reader(file))

    assert rows[0] == ["code", "level", "parent", "title"]
    assert len({row[0] for row in rows[1:]}) == len(rows) - 1 == 996


def test_every_code_has_its_levels_shape_and_hangs_under_a_parent_one_level_up():
    table = nace.activities()

    for code, row in table.items():
        assert re.fullmatch(SHAPE[row.level], code), code
        assert row.title and row.title == row.title.strip(), code
        if row.level == "section":
            assert row.parent == "", code
            continue
        parent = table[row.parent]
        assert parent.level == PARENT_LEVEL[row.level], code
        if row.level != "division":
            assert code.startswith(parent.code), code


def test_the_sections_with_chinese_names_are_the_sections_of_the_table():
    sections = [code for code, row in nace.activities().items() if row.level == "section"]

    assert sections == list(nace.SECTIONS)


@pytest.mark.parametrize(
    ("code", "section"),
    [("46", "G"), ("46.6", "G"), ("46.69", "G"), (" 46.69 ", "G"), ("01", "A"), ("99.00", "U")],
)
def test_a_division_group_or_class_of_the_table_has_a_section(code, section):
    assert nace.section_of(code) == section


@pytest.mark.parametrize("code", ["99.99", "46.99", "46.60", "04", "04.10", "4", "46.691", "G", ""])
def test_a_code_missing_from_the_table_has_no_section(code):
    assert nace.section_of(code) is None


def test_the_official_english_title_of_a_code():
    assert nace.title_of("46.69") == "Wholesale of other machinery and equipment"
    assert nace.title_of("46.6") == "Wholesale of other machinery, equipment and supplies"
    assert nace.title_of("46") == "Wholesale trade, except of motor vehicles and motorcycles"
    assert nace.title_of("46.99") is None


def test_the_divisions_of_a_section_come_from_the_table():
    assert nace.divisions_of("F") == ["41", "42", "43"]
    assert nace.divisions_of("C") == [f"{n:02}" for n in range(10, 34)]
    assert sum(len(nace.divisions_of(letter)) for letter in nace.SECTIONS) == 88


def test_section_names_follow_the_language():
    assert nace.section_name("G") == "Wholesale and retail trade; repair of motor vehicles"
    assert nace.section_name("G", "zh-hans") == "批发和零售贸易；机动车修理"
