"""NACE Rev. 2 (Regulation (EC) No 1893/2006): the classification buyers' activities are coded in.

`data/nace_rev2.csv` is the official structure as Eurostat publishes it in RAMON, its reference
and management of nomenclatures server: 21 sections, 88 divisions, 272 groups and 615 classes
with their English titles, stray trailing spaces removed (© European Union, Eurostat; reused
under Eurostat's copyright and reuse policy, which allows reuse with acknowledgement of the
source). Eurostat publishes no Chinese titles, so only the sections carry our own Simplified
Chinese names (`SECTIONS`).

Pure data and functions. A buyer carries a division, group or class code ("46", "46.6",
"46.69"); anything else, however plausible it looks ("46.99", "04"), is not a NACE code. Sector
risk is kept per section (A–U).
"""

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TABLE = Path(__file__).resolve().parent / "data" / "nace_rev2.csv"

# Section → (English name, Simplified Chinese name). The English names are the short forms shown
# in the app; the official, upper-case titles are in the table (`title_of`).
SECTIONS: dict[str, tuple[str, str]] = {
    "A": ("Agriculture, forestry and fishing", "农业、林业和渔业"),
    "B": ("Mining and quarrying", "采矿和采石业"),
    "C": ("Manufacturing", "制造业"),
    "D": ("Electricity, gas, steam and air conditioning supply", "电力、燃气、蒸汽和空调供应"),
    "E": (
        "Water supply; sewerage, waste management and remediation",
        "供水、污水处理、废物管理和修复",
    ),
    "F": ("Construction", "建筑业"),
    "G": ("Wholesale and retail trade; repair of motor vehicles", "批发和零售贸易；机动车修理"),
    "H": ("Transportation and storage", "运输和仓储"),
    "I": ("Accommodation and food service activities", "住宿和餐饮服务"),
    "J": ("Information and communication", "信息和通信"),
    "K": ("Financial and insurance activities", "金融和保险业"),
    "L": ("Real estate activities", "房地产业"),
    "M": ("Professional, scientific and technical activities", "专业、科学和技术活动"),
    "N": ("Administrative and support service activities", "行政和支持服务活动"),
    "O": (
        "Public administration and defence; compulsory social security",
        "公共管理和国防；强制性社会保障",
    ),
    "P": ("Education", "教育"),
    "Q": ("Human health and social work activities", "人类健康和社会工作活动"),
    "R": ("Arts, entertainment and recreation", "艺术、娱乐和休闲"),
    "S": ("Other service activities", "其他服务活动"),
    "T": ("Activities of households as employers", "家庭作为雇主的活动"),
    "U": ("Activities of extraterritorial organisations and bodies", "境外组织和机构的活动"),
}


@dataclass(frozen=True)
class Activity:
    code: str
    level: str  # "section", "division", "group" or "class"
    parent: str  # the code one level up; "" for a section
    title: str  # official English title


@cache
def activities() -> dict[str, Activity]:
    """Every code of the table, sections included, in the table's order."""
    with TABLE.open(encoding="utf-8", newline="") as file:
        return {
            row["code"]: Activity(row["code"], row["level"], row["parent"], row["title"])
            for row in csv.DictReader(file)
        }


@cache
def _sections_by_code() -> dict[str, str]:
    """Division, group and class code → section letter."""
    table = activities()

    def section(code: str) -> str:
        while table[code].level != "section":
            code = table[code].parent
        return code

    return {code: section(code) for code, row in table.items() if row.level != "section"}


def divisions_of(letter: str) -> list[str]:
    """The division codes of a section, in order ("F" → ["41", "42", "43"])."""
    return [
        row.code
        for row in activities().values()
        if row.level == "division" and row.parent == letter
    ]


def section_of(nace_code: str) -> str | None:
    """The section of a division, group or class code ("46.69" → "G"); None for anything else."""
    return _sections_by_code().get(nace_code.strip())


def title_of(nace_code: str) -> str | None:
    """The official English title of a NACE code, or None if the table does not have it."""
    activity = activities().get(nace_code.strip())
    return activity.title if activity else None


def section_name(letter: str, language: str = "en") -> str:
    english, chinese = SECTIONS[letter]
    return chinese if language.startswith("zh") else english
