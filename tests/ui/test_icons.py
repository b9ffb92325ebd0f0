"""The application icon in every format the bundles ship, the .desktop entry, and action icons
that stay readable in a light and a dark palette and follow the palette when it changes."""

from __future__ import annotations

import ast
import asyncio
import configparser
import gc
import re
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QSize
from PySide6.QtGui import QAction, QColor, QIcon, QImage, QPalette
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from app.core.database import Database
from app.services import catalog
from app.workspace import Desk
from tests.ui import make_icons
from tests.ui.conftest import drain, wait_until
from ui import icons
from ui.browse_window import BrowseWindow
from ui.icons import (
    ACTION_ICONS,
    APP_ICON_SIZES,
    action_icon,
    app_icon,
    icons_dir,
    resources_dir,
    set_action_icon,
)
from ui.record_table_model import CountState
from ui.window_state import WindowState

UI = Path(icons.__file__).resolve().parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Far enough apart in luminance (0 black … 1 white) to read at a glance.
MIN_CONTRAST = 0.4


def light_palette() -> QPalette:
    return palette(window="#efefef", button="#e8e8e8", text="#1e1e1e", disabled="#a0a0a0")


def dark_palette() -> QPalette:
    return palette(window="#2d2d2d", button="#353535", text="#f0f0f0", disabled="#7a7a7a")


def palette(*, window: str, button: str, text: str, disabled: str) -> QPalette:
    built = QPalette()
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        built.setColor(group, QPalette.ColorRole.Window, QColor(window))
        built.setColor(group, QPalette.ColorRole.Button, QColor(button))
        built.setColor(group, QPalette.ColorRole.ButtonText, QColor(text))
        built.setColor(group, QPalette.ColorRole.WindowText, QColor(text))
    built.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Window, QColor(window))
    built.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Button, QColor(button))
    built.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(disabled))
    built.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor(disabled))
    return built


def luminance(colour: QColor) -> float:
    """Relative luminance (WCAG): 0 for black, 1 for white."""

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * linear(colour.redF())
        + 0.7152 * linear(colour.greenF())
        + 0.0722 * linear(colour.blueF())
    )


def opaque_colours(image: QImage) -> list[QColor]:
    """The colours of the pixels that are more than half opaque."""
    image = image.convertToFormat(QImage.Format.Format_ARGB32)
    colours = []
    for y in range(image.height()):
        for x in range(image.width()):
            colour = image.pixelColor(x, y)
            if colour.alpha() > 128:
                colours.append(colour)
    return colours


def icon_image(icon: QIcon, size: int, mode: QIcon.Mode = QIcon.Mode.Normal) -> QImage:
    return icon.pixmap(QSize(size, size), 1.0, mode).toImage()


def mean_luminance(image: QImage) -> float:
    colours = opaque_colours(image)
    assert colours, "the icon drew nothing"
    return sum(luminance(colour) for colour in colours) / len(colours)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, which always comes first."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR"
    assert length == 13
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# -- the application icon ------------------------------------------------------------------


@pytest.mark.parametrize("size", APP_ICON_SIZES)
def test_every_png_size_exists_at_its_size_and_draws_the_icon(
    qapp: QApplication, size: int
) -> None:
    path = icons_dir() / f"records-desk-{size}.png"
    image = QImage(str(path))
    assert not image.isNull(), path
    assert (image.width(), image.height()) == (size, size)
    colours = opaque_colours(image)
    # The tile covers most of the square, and it is more than one flat colour.
    assert len(colours) > 0.6 * size * size
    assert len({colour.rgb() for colour in colours}) >= 3


def test_the_app_icon_offers_every_size(qapp: QApplication) -> None:
    sizes = {(size.width(), size.height()) for size in app_icon().availableSizes()}
    assert sizes == {(size, size) for size in APP_ICON_SIZES}
    assert not app_icon().pixmap(QSize(32, 32)).isNull()


def test_the_ico_holds_a_png_of_each_windows_size() -> None:
    data = (icons_dir() / "records-desk.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1)
    assert count == len(make_icons.ICO_SIZES)
    sizes = []
    end_of_directory = 6 + 16 * count
    expected_offset = end_of_directory
    for index in range(count):
        entry = data[6 + 16 * index : 6 + 16 * (index + 1)]
        width, height, colours, reserved, planes, bits, length, offset = struct.unpack(
            "<BBBBHHII", entry
        )
        side = width or 256  # 0 stands for 256
        assert (height or 256) == side
        assert (colours, reserved, planes, bits) == (0, 0, 1, 32)
        assert offset == expected_offset  # payloads follow the directory, back to back
        payload = data[offset : offset + length]
        assert len(payload) == length
        assert png_size(payload) == (side, side)
        assert payload == (icons_dir() / f"records-desk-{side}.png").read_bytes()
        sizes.append(side)
        expected_offset += length
    assert expected_offset == len(data)
    assert sizes == list(make_icons.ICO_SIZES)


def test_the_icns_holds_a_png_of_each_mac_type() -> None:
    data = (icons_dir() / "records-desk.icns").read_bytes()
    magic, total = struct.unpack(">4sI", data[:8])
    assert magic == b"icns"
    assert total == len(data)
    found = []
    position = 8
    while position < len(data):
        kind, length = struct.unpack(">4sI", data[position : position + 8])
        assert length > 8
        payload = data[position + 8 : position + length]
        assert len(payload) == length - 8
        side, _ = png_size(payload)
        assert png_size(payload) == (side, side)
        found.append((kind, side))
        position += length
    assert position == len(data)
    assert found == list(make_icons.ICNS_TYPES)


# Qt's rasteriser takes other SIMD paths on other processors (AVX-512 on one machine,
# AVX2 on another), and a few antialiased edge pixels then differ by one step of a
# channel: the committed files are current when they look the same, not byte for byte.
PIXEL_TOLERANCE = 2


def pixels(png: bytes) -> tuple[tuple[int, int], bytes]:
    image = QImage.fromData(png).convertToFormat(QImage.Format.Format_ARGB32)
    return (image.width(), image.height()), bytes(image.constBits())[: image.sizeInBytes()]


def looks_the_same(committed: bytes, rendered: bytes) -> bool:
    (size, ours), (other_size, theirs) = pixels(committed), pixels(rendered)
    if size != other_size:
        return False
    return max((abs(a - b) for a, b in zip(ours, theirs, strict=True)), default=0) <= (
        PIXEL_TOLERANCE
    )


def icns_entries(data: bytes) -> list[tuple[bytes, bytes]]:
    entries, position = [], 8
    while position < len(data):
        kind, length = struct.unpack(">4sI", data[position : position + 8])
        entries.append((kind, data[position + 8 : position + length]))
        position += length
    return entries


def test_the_generator_is_deterministic_and_the_committed_files_are_current(
    qapp: QApplication,
) -> None:
    built = make_icons.build()
    assert make_icons.build() == built
    stale = [
        name
        for name, data in built.items()
        if name.endswith(".png") and not looks_the_same((icons_dir() / name).read_bytes(), data)
    ]
    committed_icns = (icons_dir() / "records-desk.icns").read_bytes()
    stale += [
        f"records-desk.icns {kind.decode()}"
        for (kind, committed), (_, rendered) in zip(
            icns_entries(committed_icns), icns_entries(built["records-desk.icns"]), strict=True
        )
        if not looks_the_same(committed, rendered)
    ]
    assert stale == [], "run: uv run python -m tests.ui.make_icons"
    # The ICO holds the committed PNGs themselves (test_the_ico_holds_…).


def test_resources_are_found_beside_the_ui_package() -> None:
    assert resources_dir() == UI.parent / "resources"
    assert (icons_dir() / "records-desk.svg").is_file()


# -- the .desktop entry --------------------------------------------------------------------

DESKTOP_ENTRY = resources_dir() / "records-desk.desktop"


def test_the_desktop_entry_has_the_required_keys() -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment, method-assign]  # keys are case-sensitive
    parser.read(DESKTOP_ENTRY, encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Records Desk"
    assert entry["GenericName"]
    assert entry["Comment"]
    assert entry["Exec"] == "records-desk"
    assert entry["Icon"] == "records-desk"
    assert entry["Terminal"] == "false"
    assert entry["Categories"] == "Office;Database;"
    assert entry["StartupWMClass"] == "records-desk"


# -- action icons --------------------------------------------------------------------------


def icon_names_used_in_ui() -> set[str]:
    """Every name passed to action_icon or set_action_icon in ui/ (but ui/icons.py itself)."""
    names = set()
    for path in UI.rglob("*.py"):
        if path.name == "icons.py" and path.parent == UI:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            function = node.func
            called = function.attr if isinstance(function, ast.Attribute) else None
            if isinstance(function, ast.Name):
                called = function.id
            if called == "action_icon" and node.args:
                name = node.args[0]
            elif called == "set_action_icon" and len(node.args) >= 2:
                name = node.args[1]
            else:
                continue
            assert isinstance(name, ast.Constant), f"{path}: name icons with literals"
            assert isinstance(name.value, str)
            names.add(name.value)
    return names


def test_every_action_icon_named_in_the_code_exists() -> None:
    used = icon_names_used_in_ui()
    assert {"back", "forward", "search", "export"} <= used  # the browse window's, at least
    assert used <= ACTION_ICONS
    files = {path.stem for path in (icons_dir() / "actions").glob("*.svg")}
    assert files == ACTION_ICONS


@pytest.mark.parametrize("name", sorted(ACTION_ICONS))
def test_an_action_svg_is_drawn_in_the_placeholder_colour_only(name: str) -> None:
    svg = (icons_dir() / "actions" / f"{name}.svg").read_text(encoding="utf-8")
    colours = set(re.findall(r"#[0-9a-fA-F]{3,8}\b", svg))
    assert colours == {icons.PLACEHOLDER_COLOUR}
    assert "rgb(" not in svg
    assert "<text" not in svg
    assert "<filter" not in svg
    assert 'viewBox="0 0 24 24"' in svg


def test_an_unknown_action_icon_is_a_key_error(qapp: QApplication) -> None:
    with pytest.raises(KeyError):
        action_icon("no-such-icon")


@pytest.mark.parametrize("make_palette", [light_palette, dark_palette], ids=["light", "dark"])
@pytest.mark.parametrize("name", sorted(ACTION_ICONS))
def test_an_action_icon_contrasts_with_the_buttons_of_the_palette(
    qapp: QApplication, make_palette: Callable[[], QPalette], name: str
) -> None:
    palette = make_palette()
    button = luminance(palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.Button))
    icon = action_icon(name, palette)
    for size in (16, 24, 32):
        assert abs(mean_luminance(icon_image(icon, size)) - button) > MIN_CONTRAST, size
    # Disabled is drawn in the disabled colour, not left to Qt to grey out.
    disabled = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText)
    drawn = mean_luminance(icon_image(icon, 24, QIcon.Mode.Disabled))
    assert drawn == pytest.approx(luminance(disabled), abs=0.02)


def test_an_action_icon_has_high_dpi_pictures(qapp: QApplication) -> None:
    icon = action_icon("search", light_palette())
    sharp = icon.pixmap(QSize(16, 16), 2.0)
    assert (sharp.width(), sharp.height()) == (32, 32)
    assert sharp.devicePixelRatio() == 2.0


@pytest.fixture
def original_palette(qapp: QApplication) -> Iterator[QPalette]:
    original = QPalette(QApplication.palette())
    try:
        yield original
    finally:
        QApplication.setPalette(original)


def test_a_palette_change_recolours_a_followed_action(
    qtbot: QtBot, original_palette: QPalette
) -> None:
    owner = QWidget()
    qtbot.addWidget(owner)
    action = QAction("Search", owner)
    QApplication.setPalette(light_palette())
    set_action_icon(action, "search")
    assert mean_luminance(icon_image(action.icon(), 24)) < 0.1
    with qtbot.waitSignal(action.changed):
        QApplication.setPalette(dark_palette())
    assert mean_luminance(icon_image(action.icon(), 24)) > 0.8
    with qtbot.waitSignal(action.changed):
        QApplication.setPalette(light_palette())
    assert mean_luminance(icon_image(action.icon(), 24)) < 0.1


def test_a_followed_action_is_forgotten_when_it_is_deleted(
    qtbot: QtBot, original_palette: QPalette
) -> None:
    owner = QWidget()
    owned = QAction("Copy", owner)
    loose = QAction("Back")  # owned by Python: following it must not keep it alive
    set_action_icon(owned, "copy")
    set_action_icon(loose, "back")
    follower = icons._follower()
    addresses = {shiboken6.getCppPointer(a)[0] for a in (owned, loose)}
    assert addresses <= follower.followed().keys()
    with qtbot.waitSignal(loose.destroyed):
        del loose
        gc.collect()
    with qtbot.waitSignal(owned.destroyed):
        owner.deleteLater()
    assert not addresses & follower.followed().keys()
    QApplication.setPalette(dark_palette())  # finds no deleted action to touch


# Icons do not depend on the engine: one is enough here.
@pytest.mark.parametrize("engine_name", ["sqlite"])
def test_the_browse_window_actions_have_icons_that_follow_the_palette(
    qt_loop: asyncio.AbstractEventLoop,
    ui_database: Database,
    qtbot: QtBot,
    original_palette: QPalette,
) -> None:
    async def scenario() -> None:
        QApplication.setPalette(light_palette())
        window = BrowseWindow(Desk.on(ui_database), catalog.entity("users"), WindowState())
        qtbot.addWidget(window)
        window.show()
        model = window.model
        assert model is not None
        await wait_until(model.count_changed, lambda: model.count_state is CountState.EXACT)
        actions = [
            window.history.back_action,
            window.history.forward_action,
            window.refresh_action,
            window.find_action,
            window.copy_action,
            window.open_action,
            window.view_action,
            window.show_deleted_action,
            window.exports.export_action,
            window.columns_menu.menuAction(),
            window.related_menu.menuAction(),
        ]
        for action in actions:
            assert mean_luminance(icon_image(action.icon(), 16)) < 0.1, action.text()
        changed: list[str] = []
        for action in actions:
            action.changed.connect(lambda action=action: changed.append(action.text()))
        # The application hears of the change as setPalette runs, before it returns.
        QApplication.setPalette(dark_palette())
        assert set(changed) == {action.text() for action in actions}
        for action in actions:
            assert mean_luminance(icon_image(action.icon(), 16)) > 0.8, action.text()
        # One icon per meaning: the trash's three actions and the two arrows differ.
        meanings = [
            window.editing.trash_action,
            window.editing.trash_view_action,
            window.editing.restore_action,
            window.show_deleted_action,
            window.refresh_action,
            window.exports.export_action,
        ]
        pictures = {bytes(icon_image(a.icon(), 24).constBits()) for a in meanings}
        assert len(pictures) == len(meanings)
        window.close()

    qt_loop.run_until_complete(scenario())
    drain(qt_loop)
