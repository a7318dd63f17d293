"""NACE Rev. 2 (Regulation (EC) No 1893/2006): divisions and the sections they belong to.

Pure data and functions; buyers carry a NACE code such as "46" or "46.69"; sector risk is kept
per section (A–U).
"""

import re

# Section → (first division, last division, English name, Simplified Chinese name)
SECTIONS: dict[str, tuple[int, int, str, str]] = {
    "A": (1, 3, "Agriculture, forestry and fishing", "农业、林业和渔业"),
    "B": (5, 9, "Mining and quarrying", "采矿和采石业"),
    "C": (10, 33, "Manufacturing", "制造业"),
    "D": (
        35,
        35,
        "Electricity, gas, steam and air conditioning supply",
        "电力、燃气、蒸汽和空调供应",
    ),
    "E": (
        36,
        39,
        "Water supply; sewerage, waste management and remediation",
        "供水、污水处理、废物管理和修复",
    ),
    "F": (41, 43, "Construction", "建筑业"),
    "G": (
        45,
        47,
        "Wholesale and retail trade; repair of motor vehicles",
        "批发和零售贸易；机动车修理",
    ),
    "H": (49, 53, "Transportation and storage", "运输和仓储"),
    "I": (55, 56, "Accommodation and food service activities", "住宿和餐饮服务"),
    "J": (58, 63, "Information and communication", "信息和通信"),
    "K": (64, 66, "Financial and insurance activities", "金融和保险业"),
    "L": (68, 68, "Real estate activities", "房地产业"),
    "M": (69, 75, "Professional, scientific and technical activities", "专业、科学和技术活动"),
    "N": (77, 82, "Administrative and support service activities", "行政和支持服务活动"),
    "O": (
        84,
        84,
        "Public administration and defence; compulsory social security",
        "公共管理和国防；强制性社会保障",
    ),
    "P": (85, 85, "Education", "教育"),
    "Q": (86, 88, "Human health and social work activities", "人类健康和社会工作活动"),
    "R": (90, 93, "Arts, entertainment and recreation", "艺术、娱乐和休闲"),
    "S": (94, 96, "Other service activities", "其他服务活动"),
    "T": (97, 98, "Activities of households as employers", "家庭作为雇主的活动"),
    "U": (
        99,
        99,
        "Activities of extraterritorial organisations and bodies",
        "境外组织和机构的活动",
    ),
}

# Division numbers that exist in NACE Rev. 2 (04, 34, 40, 44, 48, 54, 57, 67, 76, 83, 89 do not).
DIVISIONS: frozenset[int] = frozenset(
    [
        *(1, 2, 3, 5, 6, 7, 8, 9, *range(10, 34), 35, 36, 37, 38, 39, 41, 42, 43, 45, 46, 47),
        *(49, 50, 51, 52, 53, 55, 56, 58, 59, 60, 61, 62, 63, 64, 65, 66, 68),
        *(69, 70, 71, 72, 73, 74, 75, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88),
        *(90, 91, 92, 93, 94, 95, 96, 97, 98, 99),
    ]
)

_CODE = re.compile(r"^(?P<division>\d{2})(?:\.(?P<rest>\d{1,2}))?$")


def section_of(nace_code: str) -> str | None:
    """The section letter of a NACE code ("46.69" → "G"), or None if the code is not valid."""
    match = _CODE.match(nace_code.strip())
    if not match:
        return None
    division = int(match["division"])
    if division not in DIVISIONS:
        return None
    for letter, (first, last, _en, _zh) in SECTIONS.items():
        if first <= division <= last:
            return letter
    return None


def section_name(letter: str, language: str = "en") -> str:
    _first, _last, english, chinese = SECTIONS[letter]
    return chinese if language.startswith("zh") else english
