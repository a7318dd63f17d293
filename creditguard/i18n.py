"""Language helpers that the pure calculation modules can import without Django.

- `gettext_noop`: a translation marker for messages translated later.
- `sort_key_for_language`: the one sort key for names shown in a language (choice lists such
  as countries and sectors): Chinese by pinyin, other languages alphabetically without regard
  to case and accents.
- `name_order`: the same order in SQL, for lists sorted by name in the database (Django is
  imported inside it, so importing this module stays Django-free).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.expressions import OrderBy

# One character's place: (script rank, letters, tone). Chinese characters rank first, as in
# PostgreSQL's ICU "zh" collation; letters are the pinyin syllable for a Chinese character and
# the case- and accent-folded character otherwise.
SortKey = tuple[tuple[int, str, int], ...]
Item = TypeVar("Item")

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_TONE = re.compile(r"^([a-z]+)([1-5])$")
_HAN_RANK, _OTHER_RANK, _TIE_RANK = 0, 1, 2
# ICU collations that order Chinese by pinyin (CLDR's default for zh), most specific first.
ICU_CHINESE_COLLATIONS = ("zh-Hans-x-icu", "zh-x-icu")
# Without ICU (PostgreSQL built --without-icu, like the embedded server of `make test`): the
# bytes in GB18030. Its GB2312 block lists the 3,755 common characters by pinyin, so common
# names sort by pinyin; rarer characters follow them by radical.
GB18030_FALLBACK = "GB18030"
_collation_by_database: dict[str, str] = {}


def gettext_noop(message: str) -> str:
    """Return ``message`` unchanged; the name makes ``makemessages`` extract it as a msgid.

    The caller translates the message later, with the user's language active.
    """
    return message


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _latin_key(text: str) -> SortKey:
    return (*((_OTHER_RANK, char, 0) for char in _folded(text)), (_TIE_RANK, text, 0))


def _pinyin_key(text: str) -> SortKey:
    # Imported on first use: its dictionaries take a tenth of a second to load, and the pure
    # modules import this one for `gettext_noop` alone.
    from pypinyin import Style, lazy_pinyin

    key: list[tuple[int, str, int]] = []
    position = 0
    for run in _HAN.finditer(text):
        key.extend((_OTHER_RANK, char, 0) for char in _folded(text[position : run.start()]))
        # Whole runs, so that pypinyin reads words: 重庆 is chong qing, not zhong qing.
        syllables = lazy_pinyin(run.group(), style=Style.TONE3, neutral_tone_with_five=True)
        if len(syllables) != len(run.group()):
            syllables = [
                lazy_pinyin(char, style=Style.TONE3, neutral_tone_with_five=True)[0]
                for char in run.group()
            ]
        for syllable in syllables:
            match = _TONE.match(syllable)
            letters, tone = (match.group(1), int(match.group(2))) if match else (syllable, 5)
            key.append((_HAN_RANK, letters, tone))
        position = run.end()
    key.extend((_OTHER_RANK, char, 0) for char in _folded(text[position:]))
    return (*key, (_TIE_RANK, text, 0))


def sort_key_for_language(language: str) -> Callable[[str], SortKey]:
    """The key that sorts names as a reader of `language` expects (Chinese: by pinyin)."""
    return _pinyin_key if language.lower().startswith("zh") else _latin_key


def sorted_by_name(
    items: Iterable[Item], *, language: str, name: Callable[[Item], str]
) -> list[Item]:
    """`items` in the order of their names in `language`."""
    key = sort_key_for_language(language)
    return sorted(items, key=lambda item: key(name(item)))


def sorted_choices(choices: Iterable[tuple[str, str]], *, language: str) -> list[tuple[str, str]]:
    """(value, label) choices in the order of their labels in `language`."""
    return sorted_by_name(choices, language=language, name=lambda choice: choice[1])


def chinese_collation(connection: BaseDatabaseWrapper) -> str:
    """The database's ICU collation that sorts Chinese by pinyin, or "" when it has none.

    Looked up once per database: ICU collations are created with the cluster (initdb), so the
    answer does not change while the server runs.
    """
    database = f"{connection.alias}:{connection.settings_dict.get('NAME')}"
    if database not in _collation_by_database:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT collname FROM pg_collation WHERE collprovider = 'i' AND collname = ANY(%s)",
                [list(ICU_CHINESE_COLLATIONS)],
            )
            found = {row[0] for row in cursor.fetchall()}
        _collation_by_database[database] = next(
            (name for name in ICU_CHINESE_COLLATIONS if name in found), ""
        )
    return _collation_by_database[database]


def name_order(field: str, *, language: str, descending: bool = False) -> OrderBy:
    """ORDER BY `field` as names are read in `language`: Chinese by pinyin (ICU collation when
    the server has one, else GB18030 bytes), other languages by the database's collation."""
    from django.db import connection
    from django.db.models import BinaryField, F, Func, Value
    from django.db.models.functions import Collate, Lower

    expression: Collate | Func | F = F(field)
    if language.lower().startswith("zh"):
        collation = chinese_collation(connection)
        if collation:
            expression = Collate(F(field), collation)
        else:
            expression = Func(
                Lower(field),
                Value(GB18030_FALLBACK),
                function="convert_to",
                output_field=BinaryField(),
            )
    return expression.desc() if descending else expression.asc()
