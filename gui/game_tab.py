"""The Game tab: which game (a profile, a window or both), launching it, and the live preview.

The target it sets (``target_profile``) is what the other tabs hand to the library: the profile, with the
window picked here as its window title when one is picked. The window system is only asked on task threads.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

from PyQt5.QtCore import QSettings, QSize, Qt, QTimer, pyqtSignal
from PyQt5.QtGui import QIcon, QPixmap
from PyQt5.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from agent.envs.launcher import GameProcess, wait_for_window
from agent.envs.profile import GameProfile, load_profile
from capture.errors import PixelpilotError, WindowNotFoundError
from capture.windows import WindowInfo, default_backend, find_window
from games import PROFILES_DIR
from gui.preview import PREVIEW_BOX, PreviewFrame, run_preview
from gui.window_list import THUMBNAIL, ListedWindow, match_window, run_window_list
from gui.worker import Task, TaskPool


def launch_game(task: Task, profile: GameProfile) -> tuple[GameProcess | None, WindowInfo]:
    """The profile's window: the open one, else a game started from its ``launch`` command (stopped again when
    its window does not appear or the task is asked to stop)."""
    try:
        return None, find_window(profile.window)
    except WindowNotFoundError:
        pass
    game = GameProcess(profile.launch_command())
    try:
        deadline = time.monotonic() + profile.launch_timeout
        while True:
            try:  # short waits, so that closing the panel is not held up by the launch timeout
                return game, wait_for_window(profile.window, 0.5, game)
            except WindowNotFoundError:
                if task.stop_event.is_set():
                    raise PixelpilotError("cancelled before the window appeared") from None
                if time.monotonic() >= deadline:
                    raise
    except BaseException:
        game.stop()
        raise


class GameTab(QWidget):
    """Emits ``target_changed`` when the profile or the window changes, ``error`` with a line for the panel."""

    target_changed = pyqtSignal()
    error = pyqtSignal(str)

    def __init__(self, pool: TaskPool, settings: QSettings, own_windows: Callable[[], set[int]]) -> None:
        super().__init__()
        self.pool = pool
        self.settings = settings
        self.own_windows = own_windows
        self.profile: GameProfile | None = None
        self.picked: WindowInfo | None = None
        self.game: GameProcess | None = None
        self.windows: list[WindowInfo] = []
        self.frames_shown = 0
        self.closing = False
        self._preview: Task | None = None
        self._listing: Task | None = None
        self._launching: Task | None = None

        self.profiles = QComboBox()
        self.profiles.setMinimumContentsLength(18)
        self.profiles.addItem("(no profile: a window alone)", "")
        for path in sorted(PROFILES_DIR.glob("*.toml")):
            self.profiles.addItem(path.stem, path.stem)
        self.profiles.activated.connect(lambda i: self.choose_profile(self.profiles.itemData(i)))
        open_button = QPushButton("Open profile…")
        open_button.clicked.connect(self._open_profile)
        self.launch_button = QPushButton("Launch game")
        self.launch_button.setToolTip("Start the game from the profile's launch command (Ctrl+L)")
        self.launch_button.clicked.connect(self.launch)
        self.stop_button = QPushButton("Stop game")
        self.stop_button.setToolTip("Stop the game the panel launched")
        self.stop_button.clicked.connect(self.stop_game)
        top = QHBoxLayout()
        top.addWidget(QLabel("Profile:"))
        top.addWidget(self.profiles)
        top.addWidget(open_button)
        top.addStretch(1)
        top.addWidget(self.launch_button)
        top.addWidget(self.stop_button)

        self.window_list = QListWidget()
        self.window_list.setIconSize(QSize(*THUMBNAIL))
        self.window_list.setViewMode(QListView.IconMode)  # a column of thumbnails, each titled underneath
        self.window_list.setFlow(QListView.TopToBottom)
        self.window_list.setWrapping(False)
        self.window_list.setMovement(QListView.Static)
        self.window_list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.window_list.setGridSize(QSize(THUMBNAIL[0] + 30, THUMBNAIL[1] + 30))
        self.window_list.setMinimumWidth(THUMBNAIL[0] + 50)
        self.window_list.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Expanding)
        self.window_list.itemClicked.connect(lambda item: self.pick_window(item.data(Qt.ItemDataRole.UserRole)))
        left = QVBoxLayout()
        left.addWidget(QLabel("Windows (click one to pick it):"))
        left.addWidget(self.window_list)

        self.window_view = QLabel("no window picked")
        self.window_view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.window_view.setMinimumSize(*PREVIEW_BOX)
        self.obs_view = QLabel("model input (128x200)")
        self.obs_view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.obs_view.setMinimumSize(400, 256)
        self.info = QLabel("")
        self.info.setWordWrap(True)
        previews = QGridLayout()
        previews.addWidget(QLabel("Window and crop"), 0, 0)
        previews.addWidget(QLabel("Processed frame (what the model sees)"), 0, 1)
        previews.addWidget(self.window_view, 1, 0)
        previews.addWidget(self.obs_view, 1, 1)
        previews.addWidget(self.info, 2, 0, 1, 2)
        previews.setRowStretch(3, 1)

        body = QHBoxLayout()
        body.addLayout(left, 1)
        body.addLayout(previews, 3)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(body, 1)

        self._game_timer = QTimer(self)
        self._game_timer.timeout.connect(self._check_game)
        self._game_timer.start(1000)
        self._update_buttons()

    # -- the target ----------------------------------------------------------------------------------------------
    def target_profile(self) -> GameProfile | None:
        """The profile the library gets: the chosen one with the picked window's title, a bare profile for a
        window picked without one, or None when neither is chosen."""
        if self.picked is None:
            return self.profile
        if self.profile is None:
            return GameProfile(name=self.picked.title, window=self.picked.title)
        return dataclasses.replace(self.profile, window=self.picked.title)

    def restore(self) -> None:
        """Choose the profile of the last session."""
        saved = self.settings.value("game/profile", "", str)
        if saved:
            self.choose_profile(saved)

    def choose_profile(self, name_or_path: str) -> None:
        """A bundled profile's name or a profile file; '' for none. An invalid one is reported, not chosen."""
        if not name_or_path:
            self.profile = None
        else:
            try:
                self.profile = load_profile(name_or_path)
            except PixelpilotError as exc:
                self.error.emit(str(exc))
                return
        index = self.profiles.findData(name_or_path)
        if index < 0:
            self.profiles.addItem(Path(name_or_path).name, name_or_path)
            index = self.profiles.count() - 1
        self.profiles.setCurrentIndex(index)
        self.settings.setValue("game/profile", name_or_path)
        self.picked = None
        if self.profile is not None:
            self.picked = match_window(self.profile.window, self.windows)
        self._target_changed()

    def _open_profile(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a game profile", str(PROFILES_DIR), "Profiles (*.toml)")
        if path:
            self.choose_profile(path)

    def pick_window(self, info: WindowInfo) -> None:
        self.picked = info
        self._target_changed()

    def _target_changed(self) -> None:
        self._restart_preview()
        self._update_buttons()
        self._show_info()
        self.target_changed.emit()

    def _show_info(self, frame: PreviewFrame | None = None) -> None:
        parts = []
        if self.profile is not None:
            crop = self.profile.crop
            where = "whole window" if crop is None else f"{crop.width}x{crop.height} at ({crop.left}, {crop.top})"
            parts.append(f"profile {self.profile.name}: window {self.profile.window!r}, crop {where}, "
                         f"{self.profile.fps:g} fps")  # fmt: skip
        if self.picked is not None:
            parts.append(f"picked {self.picked.title!r} (0x{self.picked.handle:x})")
        if frame is not None:
            parts.append(f"{frame.window_size[0]}x{frame.window_size[1]}, preview {frame.fps:.1f} fps")
            if frame.note:
                parts.append(frame.note)
        self.info.setText(" · ".join(parts) or "choose a profile or pick a window")

    # -- window list ---------------------------------------------------------------------------------------------
    def start_listing(self) -> None:
        if self._listing is None and not self.closing:
            exclude = self.own_windows()  # asked here: Qt's window ids belong to the GUI thread
            task = Task("window list", lambda t: run_window_list(t, exclude), self)
            task.ready.connect(lambda: self._show_windows(task.latest()))
            task.failed.connect(self.error)
            task.finished.connect(lambda: setattr(self, "_listing", None))
            self._listing = self.pool.start(task)

    def _show_windows(self, listed: list[ListedWindow] | None) -> None:
        if listed is None:
            return
        self.windows = [w.info for w in listed]
        self.window_list.clear()
        for entry in listed:
            item = QListWidgetItem(entry.info.title)
            if entry.thumbnail is not None:
                item.setIcon(QIcon(QPixmap.fromImage(entry.thumbnail)))
            item.setData(Qt.ItemDataRole.UserRole, entry.info)
            rect = entry.info.rect
            item.setToolTip(f"{entry.info.title}\n0x{entry.info.handle:x}  {rect.width}x{rect.height}")
            self.window_list.addItem(item)
            if self.picked is not None and entry.info.handle == self.picked.handle:
                item.setSelected(True)
        if self.picked is None and self.profile is not None:
            found = match_window(self.profile.window, self.windows)
            if found is not None:
                self.pick_window(found)

    # -- preview -------------------------------------------------------------------------------------------------
    def _restart_preview(self) -> None:
        if self._preview is not None:
            self._preview.request_stop()
            self._preview = None
        if self.picked is None or self.closing or not self.isVisible():
            self.window_view.setText("no window picked" if self.picked is None else "")
            return
        handle = self.picked.handle
        crop = self.profile.crop if self.profile is not None else None
        fps = self.profile.fps if self.profile is not None else 15.0
        grey = self.profile.grey if self.profile is not None else None
        task = Task("preview", lambda t: run_preview(t, handle, crop, fps, grey), self)
        task.ready.connect(lambda: self._show_frame(task))
        task.failed.connect(lambda message: self._preview_failed(task, message))
        self._preview = self.pool.start(task)

    def _show_frame(self, task: Task) -> None:
        frame: PreviewFrame | None = task.latest()
        if frame is None or task is not self._preview:
            return
        if frame.window is None:
            self.window_view.setText(frame.note)
        else:
            self.window_view.setPixmap(QPixmap.fromImage(frame.window))
        if frame.obs is None:
            self.obs_view.setText(frame.note)
        else:
            self.obs_view.setPixmap(QPixmap.fromImage(frame.obs))
        self.frames_shown += 1
        if self.frames_shown % 15 == 2:  # from the second frame on, there is a rate to show
            self._show_info(frame)

    def _preview_failed(self, task: Task, message: str) -> None:
        if task is self._preview:
            self._preview = None
            self.picked = None
            self._target_changed()
            self.error.emit(message)

    def showEvent(self, event: object) -> None:
        if self._preview is None:
            self._restart_preview()

    def hideEvent(self, event: object) -> None:
        if self._preview is not None:  # nobody sees it: leave the CPU to recording and training
            self._preview.request_stop()
            self._preview = None

    # -- the game process ----------------------------------------------------------------------------------------
    def launch(self) -> None:
        profile = self.profile
        if profile is None or not profile.launch:
            self.error.emit("launch: choose a profile with a 'launch' command first")
            return
        if self._launching is not None or self.closing:
            return
        task = Task(f"launch {profile.name}", lambda t: launch_game(t, profile), self)
        task.succeeded.connect(self._launched)
        task.failed.connect(self.error)
        task.finished.connect(self._launch_finished)
        self._launching = self.pool.start(task)
        self._update_buttons()

    def _launched(self, result: tuple[GameProcess | None, WindowInfo]) -> None:
        game, window = result
        if game is not None:
            if self.closing:  # the panel was closed while the game started
                self.pool.start(Task("stop game", lambda t: game.stop(), self))
                return
            self.game = game
            self._place_beside_the_panel(window)
        self.pick_window(window)
        if self._listing is not None:
            self._listing.poke()  # show the new window in the list now

    def _place_beside_the_panel(self, window: WindowInfo) -> None:
        """A game launched over the panel would hide its readouts and probability bars: put it to the right of
        the panel, or to its left; where neither side has the room, move the panel to the screen's left edge and
        the game beside it; on a screen too narrow for both, the game goes to the right edge."""
        top_level, screen_of = self.window(), self.screen()
        if top_level is None or screen_of is None:
            return
        panel, screen = top_level.frameGeometry(), screen_of.availableGeometry()
        gap, width = 8, window.rect.width
        if panel.right() + gap + width <= screen.right():
            left = panel.right() + gap
        elif panel.left() - gap - width >= screen.left():
            left = panel.left() - gap - width
        elif panel.width() + gap + width <= screen.width():
            top_level.move(screen.left(), panel.top())
            left = screen.left() + panel.width() + gap
        else:
            left = screen.right() + 1 - width
        top = max(screen.top(), panel.top())
        task = Task("place game", lambda t: default_backend().move(window.handle, left, top), self)
        task.failed.connect(self.error)
        self.pool.start(task)

    def _launch_finished(self) -> None:
        self._launching = None
        self._update_buttons()

    def stop_game(self) -> None:
        game, self.game = self.game, None
        if game is None:
            return
        if self.picked is not None:  # its window goes away with it: not an error for the preview
            self.picked = None
            self._target_changed()
        task = Task("stop game", lambda t: game.stop(), self)
        task.failed.connect(self.error)
        self.pool.start(task)
        self._update_buttons()

    def _check_game(self) -> None:
        if self.game is not None and (how := self.game.exited()):
            game, self.game = self.game, None
            game.stop()  # reaped already: this only closes its stderr file
            self.error.emit(how)
            self._update_buttons()

    def _update_buttons(self) -> None:
        can_launch = self.profile is not None and bool(self.profile.launch) and self._launching is None
        self.launch_button.setEnabled(can_launch and self.game is None)
        self.stop_button.setEnabled(self.game is not None)

    def shutdown(self) -> None:
        """The panel closes: stop the preview, the list and a launch in progress. The game the panel launched is
        stopped later (``stop_game``), once nothing uses its window any more."""
        self.closing = True
        self._game_timer.stop()
        for task in (self._preview, self._listing, self._launching):
            if task is not None:
                task.request_stop()
        self._preview = None
