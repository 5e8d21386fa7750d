"""The Train tab's live curves over environment steps: the episodic return (training episodes, their moving mean,
the evaluations) and the losses (policy and value; the entropy on a scale of its own).

matplotlib draws them on a task's thread, with Agg into an image that the GUI thread only shows. Drawn on the GUI
thread, one redraw took 130-200 ms beside a training, whose loop runs on a thread of the same process and takes
turns with it for the GIL: the panel froze twice a second. The lines are made once and only their data changes,
and an image is drawn at most every ``every`` seconds, only when there is something new (or a new size).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PyQt5.QtCore import Qt
from PyQt5.QtGui import QImage, QPixmap, QResizeEvent
from PyQt5.QtWidgets import QLabel, QSizePolicy

from agent.learning.progress import TrainControl, TrainProgress
from agent.learning.run_log import moving_mean
from gui.images import owned_image
from gui.worker import Task


class Curves:
    """The figure and its lines, made once; used by one thread at a time (the plotting task's)."""

    DPI = 100

    def __init__(self) -> None:
        self.figure = Figure(dpi=self.DPI)
        self.canvas = FigureCanvasAgg(self.figure)
        self.returns_axes, self.loss_axes = self.figure.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
        self.entropy_axes = self.loss_axes.twinx()
        (self.episodes_line,) = self.returns_axes.plot([], [], ".", ms=3, alpha=0.35, label="training episodes")
        (self.mean_line,) = self.returns_axes.plot([], [], "-", lw=1.5, label="moving mean")
        (self.eval_line,) = self.returns_axes.plot([], [], "o-", ms=4, label="evaluations")
        (self.policy_line,) = self.loss_axes.plot([], [], lw=1.2, label="policy")
        (self.value_line,) = self.loss_axes.plot([], [], lw=1.2, label="value")
        (self.entropy_line,) = self.entropy_axes.plot([], [], lw=1.2, color="C2", label="entropy (right)")
        self.returns_axes.set_title("episodic return", fontsize=9)
        self.loss_axes.set_title("losses", fontsize=9)
        self.returns_axes.legend(loc="upper left", fontsize=7)
        self.loss_axes.legend(handles=[self.policy_line, self.value_line, self.entropy_line], loc="upper right",
                              fontsize=7)  # fmt: skip
        for axes in (self.returns_axes, self.loss_axes, self.entropy_axes):
            axes.tick_params(labelsize=7)
        for axes in (self.returns_axes, self.loss_axes):
            axes.set_xlabel("environment steps", fontsize=7, labelpad=1)

    def draw(self, progress: TrainProgress, size: tuple[int, int]) -> QImage:
        width, height = size
        self.figure.set_size_inches(width / self.DPI, height / self.DPI)
        # Fixed margins in pixels: a layout engine run on every draw would double its time.
        self.figure.subplots_adjust(left=45 / width, right=1 - 45 / width, bottom=38 / height, top=1 - 22 / height,
                                    wspace=0.22)  # fmt: skip
        if progress.returns:
            steps, returns = zip(*progress.returns, strict=True)
            window, mean = moving_mean(returns)
            self.episodes_line.set_data(steps, returns)
            self.mean_line.set_data(steps[window - 1 :], mean)
        else:
            self.episodes_line.set_data([], [])
            self.mean_line.set_data([], [])
        self.eval_line.set_data([p.steps for p in progress.evaluations], [p.mean for p in progress.evaluations])
        columns = tuple(zip(*progress.losses, strict=True)) or ((), (), (), ())
        for line, values in zip((self.policy_line, self.value_line, self.entropy_line), columns[1:], strict=True):
            line.set_data(columns[0], values)
        for axes in (self.returns_axes, self.loss_axes, self.entropy_axes):
            axes.relim()
            axes.autoscale_view()
        self.canvas.draw()
        return owned_image(np.asarray(self.canvas.buffer_rgba()), QImage.Format_RGBA8888)


def run_plot(task: Task, control: TrainControl, size: Callable[[], tuple[int, int]], every: float = 0.5) -> None:
    """Offer an image of ``control``'s curves, at ``size()``, whenever they changed (looking every ``every``
    seconds), and once more when asked to stop: the run's last curves."""
    curves = Curves()
    drawn: tuple | None = None
    while True:
        stopping = task.stop_event.is_set()
        progress = control.progress
        now = (progress.returns[-1:], len(progress.returns), progress.losses[-1:], len(progress.evaluations), size())
        if now != drawn:
            drawn = now
            task.offer(curves.draw(progress, now[-1]))
        if stopping:
            return
        task.nap(every)


class PlotView(QLabel):
    """Shows the newest image of the curves. ``size_wanted`` is its size, replaced whole on every resize, for the
    plotting task to draw to (it ignores the image's size, which would otherwise push the layout)."""

    def __init__(self) -> None:
        super().__init__("the curves appear when a run starts")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Ignored)
        self.setMinimumSize(480, 200)
        self.size_wanted = (800, 300)
        self.images = 0
        """images shown since the panel opened"""

    def resizeEvent(self, event: QResizeEvent | None) -> None:
        self.size_wanted = (self.width(), self.height())
        super().resizeEvent(event)

    def show_image(self, image: QImage) -> None:
        self.setPixmap(QPixmap.fromImage(image))
        self.images += 1
