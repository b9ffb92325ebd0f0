"""Render the application icon from its SVG into every format the bundles need, offscreen.

uv run python -m tests.ui.make_icons

resources/icons/records-desk.svg is the source; this writes next to it
records-desk-{16,…,512}.png (Linux, Qt's window icon), records-desk.ico (Windows) and
records-desk.icns (macOS). The ICO and ICNS containers are written here with struct, each
entry a PNG, so no imaging library is needed. The output is deterministic: a rerun writes
the same bytes, and tests/ui/test_icons.py fails when the committed files are not what this
renders from the SVG now.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QImageWriter, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parents[2] / "resources" / "icons"
SOURCE = ICONS / "records-desk.svg"

PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
# Windows picks among these for the taskbar, Explorer views and the title bar (256 is the
# largest an ICO entry can describe: its size bytes hold 0 for 256).
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# The PNG-based ICNS types (macOS 10.7+), by pixel size; ic10 is 512@2x.
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"icp6", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic09", 512),
    (b"ic10", 1024),
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_name(size: int) -> str:
    return f"records-desk-{size}.png"


def render(renderer: QSvgRenderer, size: int) -> QImage:
    """The SVG drawn on a transparent square of ``size`` pixels."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return image.convertToFormat(QImage.Format.Format_ARGB32)


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QImageWriter(buffer, QByteArray(b"png"))
    # Qt's PNG writer adds no time or software chunk: the bytes depend on the pixels alone.
    if not writer.write(image):
        raise RuntimeError(f"Qt could not encode a PNG: {writer.errorString()}")
    buffer.close()
    return bytes(data.data())


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """A Windows ICO file: ICONDIR, one ICONDIRENTRY per size, then the PNG payloads."""
    header = struct.pack("<HHH", 0, 1, len(pngs))  # reserved, type 1 = icon, count
    entries = b""
    payloads = b""
    offset = len(header) + 16 * len(pngs)
    for size, png in sorted(pngs.items()):
        side = 0 if size == 256 else size  # one byte: 0 means 256
        # width, height, palette colours, reserved, colour planes, bits per pixel, size, offset
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(png), offset)
        payloads += png
        offset += len(png)
    return header + entries + payloads


def icns_bytes(pngs: dict[bytes, bytes]) -> bytes:
    """An Apple ICNS file: the 'icns' header, then one (type, length, PNG) element per type.
    Lengths are big-endian and count their own 8-byte header."""
    body = b"".join(kind + struct.pack(">I", 8 + len(png)) + png for kind, png in pngs.items())
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def build(source: Path = SOURCE) -> dict[str, bytes]:
    """Every generated file, by name, rendered from ``source``. Writes nothing."""
    renderer = QSvgRenderer(str(source))
    if not renderer.isValid():
        raise RuntimeError(f"{source} is not an SVG Qt can draw")
    sizes = sorted({*PNG_SIZES, *ICO_SIZES, *(size for _, size in ICNS_TYPES)})
    pngs = {size: png_bytes(render(renderer, size)) for size in sizes}
    files = {png_name(size): pngs[size] for size in PNG_SIZES}
    files["records-desk.ico"] = ico_bytes({size: pngs[size] for size in ICO_SIZES})
    files["records-desk.icns"] = icns_bytes({kind: pngs[size] for kind, size in ICNS_TYPES})
    return files


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv)
    for name, data in build().items():
        path = ICONS / name
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
            print(f"wrote {path.relative_to(ICONS.parents[1])}")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
