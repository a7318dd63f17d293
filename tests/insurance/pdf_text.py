"""The text of a PDF that WeasyPrint wrote, for tests that check what a document says.

Uses poppler's `pdftotext` when the machine has it; otherwise reads the PDF itself, which is
enough for WeasyPrint's output (no library in the lock reads PDFs): objects, also inside object
streams, Flate-compressed streams, Type0 fonts with a ToUnicode CMap, and text shown with
`Tj`/`TJ` in 2-byte codes. Each text run becomes a line.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib

OBJECT = re.compile(rb"(\d+) 0 obj\s*(.*?)endobj", re.S)
STREAM = re.compile(rb"stream\r?\n(.*)\r?\nendstream", re.S)


def _stream(body: bytes) -> bytes | None:
    match = STREAM.search(body)
    if match is None:
        return None
    data = match.group(1)
    if b"/FlateDecode" in body[: match.start()]:
        try:
            return zlib.decompress(data)
        except zlib.error:
            return zlib.decompressobj().decompress(data)
    return data


def _objects(pdf: bytes) -> dict[int, tuple[bytes, bytes | None]]:
    """Object number → (dictionary text, decoded stream or None)."""
    objects: dict[int, tuple[bytes, bytes | None]] = {}
    for match in OBJECT.finditer(pdf):
        number, body = int(match.group(1)), match.group(2)
        head = body.split(b"stream", 1)[0]
        objects[number] = (head, _stream(body))
    for head, data in list(objects.values()):
        if b"/ObjStm" not in head or data is None:
            continue
        first = int(re.search(rb"/First (\d+)", head).group(1))  # type: ignore[union-attr]
        count = int(re.search(rb"/N (\d+)", head).group(1))  # type: ignore[union-attr]
        numbers = [int(n) for n in data[:first].split()]
        pairs = list(zip(numbers[0::2], numbers[1::2], strict=True))[:count]
        for index, (number, offset) in enumerate(pairs):
            end = first + pairs[index + 1][1] if index + 1 < len(pairs) else len(data)
            objects[number] = (data[first + offset : end], None)
    return objects


def _cmap(data: bytes) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for source, target in re.findall(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
            mapping[int(source, 16)] = bytes.fromhex(target.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for low, high, target in re.findall(
            rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block
        ):
            start = int(target, 16)
            for offset, code in enumerate(range(int(low, 16), int(high, 16) + 1)):
                mapping[code] = chr(start + offset)
    return mapping


def _python_text(pdf: bytes) -> str:
    objects = _objects(pdf)
    cmaps: dict[int, dict[int, str]] = {}
    for number, (head, _data) in objects.items():
        reference = re.search(rb"/ToUnicode (\d+) 0 R", head)
        if reference:
            stream = objects.get(int(reference.group(1)), (b"", None))[1]
            cmaps[number] = _cmap(stream or b"")
    fonts: dict[bytes, dict[int, str]] = {}
    for head, _data in objects.values():
        # Font resources, inline or in their own object: a name for a Type0 font with a CMap.
        for name, number in re.findall(rb"/([^\s/<>\[\]]+)\s+(\d+) 0 R", head):
            if int(number) in cmaps:
                fonts[name] = cmaps[int(number)]
    lines: list[str] = []
    token = re.compile(
        rb"/([^\s/\[\]<>()]+)\s+[\d.]+\s+Tf|\[(.*?)\]\s*TJ|<([0-9a-fA-F]*)>\s*Tj", re.S
    )
    for _head, data in objects.values():
        if data is None or b"BT" not in data:
            continue
        current: dict[int, str] = {}
        for match in token.finditer(data):
            if match.group(1) is not None:
                current = fonts.get(match.group(1), {})
                continue
            hexes = re.findall(rb"<([0-9a-fA-F]*)>", match.group(2) or b"") or [match.group(3)]
            text = []
            for chunk in hexes:
                raw = bytes.fromhex(chunk.decode())
                for index in range(0, len(raw) - 1, 2):
                    text.append(current.get(int.from_bytes(raw[index : index + 2], "big"), ""))
            lines.append("".join(text))
    return "\n".join(lines)


def pdf_text(pdf: bytes) -> str:
    """The text of `pdf` (pdftotext when installed, else the reader above)."""
    if shutil.which("pdftotext"):
        done = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True
        )
        return done.stdout.decode("utf-8")
    return _python_text(pdf)


def pdf_text_without_poppler(pdf: bytes) -> str:
    return _python_text(pdf)
