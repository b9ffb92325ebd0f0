"""The application icon, and action icons drawn in the colours of the palette in use.

The app follows the system palette (it never sets one of its own), so an action icon cannot
be one fixed picture: black arrows vanish on a dark toolbar. Each action icon is a
monochrome SVG under resources/icons/actions/ drawn in one placeholder colour; it is
recoloured to the palette's button text (and its disabled button text) before Qt renders it,
and the actions given an icon by ``set_action_icon`` are drawn again when the application
palette changes (the user switched the desktop to dark, say).
"""

from __future__ import annotations

import functools
import weakref
from pathlib import Path
from typing import Final

import shiboken6
from PySide6.QtCore import QByteArray, QCoreApplication, QEvent, QObject, QRectF, QSize, Qt
from PySide6.QtGui import (
    QAction,
    QColor,
    QGuiApplication,
    QIcon,
    QImage,
    QPainter,
    QPalette,
    QPixmap,
)
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

# The one colour every action SVG is drawn in, replaced by the palette's.
PLACEHOLDER_COLOUR: Final = "#000000"
# Every action icon there is: resources/icons/actions/<name>.svg.
ACTION_ICONS: Final = frozenset(
    {
        "about",
        "add-filter",
        "back",
        "columns",
        "connections",
        "copy",
        "edit",
        "export",
        "forward",
        "insights",
        "load-demo-data",
        "new",
        "open",
        "open-database",
        "refresh",
        "related",
        "restore",
        "retry",
        "search",
        "show-deleted",
        "trash",
        "trash-view",
    }
)
# Menus draw 16 px icons, toolbars 24 px (some styles 32 px); each is also drawn at twice
# its size for high-DPI screens, so Qt never scales a small picture up.
ACTION_ICON_SIZES: Final = (16, 24, 32)
# records-desk-<size>.png, rendered from records-desk.svg by tests/ui/make_icons.py.
APP_ICON_SIZES: Final = (16, 24, 32, 48, 64, 128, 256, 512)
# Recoloured icons kept; a handful of palettes a session at most, so this never fills.
_ICON_CACHE_SIZE: Final = 256


def resources_dir() -> Path:
    """The folder holding icons/ and the .desktop entry.

    The same lookup serves a source checkout and the PyInstaller one-folder bundle: there
    every module reports a ``__file__`` under ``sys._MEIPASS``, and the bundle carries the
    resources at ``_MEIPASS/resources``, so the folder beside ui/ is the right one in both.
    """
    return Path(__file__).resolve().parent.parent / "resources"


def icons_dir() -> Path:
    return resources_dir() / "icons"


@functools.cache
def app_icon() -> QIcon:
    """The application icon, with every rendered size: Qt picks the nearest for a title
    bar, a task switcher or a dock instead of scaling one picture."""
    icon = QIcon()
    for size in APP_ICON_SIZES:
        icon.addFile(str(icons_dir() / f"records-desk-{size}.png"), QSize(size, size))
    return icon


def action_icon(name: str, palette: QPalette | None = None) -> QIcon:
    """The action icon ``name`` in ``palette``'s button text colours (the application's
    palette when None). An unknown name raises KeyError: it is a mistake in the code."""
    if name not in ACTION_ICONS:
        raise KeyError(name)
    if palette is None:
        palette = QGuiApplication.palette()
    role = QPalette.ColorRole.ButtonText
    normal = palette.color(QPalette.ColorGroup.Normal, role)
    disabled = palette.color(QPalette.ColorGroup.Disabled, role)
    # A copy: whoever changes their icon does not change the one the cache hands out.
    return QIcon(_recoloured_icon(name, normal.rgba(), disabled.rgba()))


def set_action_icon(action: QAction, name: str) -> None:
    """Give ``action`` the icon ``name`` now, and again in the new colours each time the
    application palette changes, for as long as the action lives."""
    action.setIcon(action_icon(name))
    _follower().follow(action, name)


@functools.cache
def _svg_text(name: str) -> str:
    return (icons_dir() / "actions" / f"{name}.svg").read_text(encoding="utf-8")


@functools.lru_cache(maxsize=_ICON_CACHE_SIZE)
def _recoloured_icon(name: str, normal_rgba: int, disabled_rgba: int) -> QIcon:
    icon = QIcon()
    for mode, rgba in ((QIcon.Mode.Normal, normal_rgba), (QIcon.Mode.Disabled, disabled_rgba)):
        colour = QColor.fromRgba(rgba)
        # SVG Tiny colours have no alpha: the SVG gets the colour, the painter its opacity.
        svg = _svg_text(name).replace(PLACEHOLDER_COLOUR, colour.name(QColor.NameFormat.HexRgb))
        renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
        if not renderer.isValid():
            raise ValueError(f"resources/icons/actions/{name}.svg is not an SVG Qt can draw")
        for size in ACTION_ICON_SIZES:
            for scale in (1, 2):
                pixmap = _render(renderer, size * scale, colour.alphaF())
                pixmap.setDevicePixelRatio(scale)
                icon.addPixmap(pixmap, mode, QIcon.State.Off)
    return icon


def _render(renderer: QSvgRenderer, pixels: int, opacity: float) -> QPixmap:
    image = QImage(pixels, pixels, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setOpacity(opacity)
    renderer.render(painter, QRectF(0, 0, pixels, pixels))
    painter.end()
    return QPixmap.fromImage(image)


# The dynamic property that names a followed action's icon.
_ICON_PROPERTY = "recordsDeskIcon"


class _PaletteFollower(QObject):
    """Hears the application palette change and draws the followed actions' icons again.

    It keeps no address of an action: at each change it finds the live ones, by the icon
    name they carry as a property, in the object trees of the application and its windows
    — an action in a tree is alive by being found there — and among the parentless ones it
    holds weakly (their Python wrapper owns them, so the wrapper's end is theirs). A raw
    address kept across a deletion, however carefully forgotten, once ended in a crash.
    """

    def __init__(self, app: QCoreApplication) -> None:
        super().__init__(app)
        self._loose: weakref.WeakSet[QAction] = weakref.WeakSet()
        app.installEventFilter(self)

    def follow(self, action: QAction, name: str) -> None:
        action.setProperty(_ICON_PROPERTY, name)
        if action.parent() is None:
            self._loose.add(action)

    def followed(self) -> dict[int, str]:
        """The live followed actions, by address, with their icon names."""
        return {shiboken6.getCppPointer(action)[0]: name for action, name in self._live()}

    def recolour(self) -> None:
        for action, name in self._live():
            action.setIcon(action_icon(name))

    def _live(self) -> list[tuple[QAction, str]]:
        candidates = [*self._loose]
        roots: list[QObject] = [*QApplication.topLevelWidgets()]
        app = self.parent()
        if app is not None:
            roots.append(app)
        for root in roots:
            candidates.extend(root.findChildren(QAction))
        live: dict[int, tuple[QAction, str]] = {}  # a window may be found twice
        for action in candidates:
            name = action.property(_ICON_PROPERTY) if shiboken6.isValid(action) else None
            if isinstance(name, str) and name:
                live[id(action)] = (action, name)
        return list(live.values())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        # A filter on the application sees every event of every object; the change is
        # announced to the application itself once, and to each widget after it.
        if event.type() == QEvent.Type.ApplicationPaletteChange and watched is self.parent():
            self.recolour()
        return False


_follower_instance: _PaletteFollower | None = None


def _follower() -> _PaletteFollower:
    """The one palette follower, installed on the application the first time it is needed
    (and again should the application be a new one: tests make one per session)."""
    global _follower_instance
    app = QCoreApplication.instance()
    if app is None:
        raise RuntimeError("action icons need a QApplication")
    current = _follower_instance
    if current is None or not shiboken6.isValid(current) or current.parent() is not app:
        current = _follower_instance = _PaletteFollower(app)
    return current
