"""Errors a user can act on: the CLI prints them as one line. Anything else is a bug and keeps its traceback."""


class PixelpilotError(Exception):
    """Base class for failures caused by the environment or the user's input, not by a bug."""


class DisplayError(PixelpilotError):
    """No usable display: no X server, a missing Xvfb/window manager, or an unsupported platform."""


class UnsupportedPlatformError(DisplayError):
    """The platform has no window backend yet."""


class WindowError(PixelpilotError):
    """Base class for problems with the target window."""


class WindowNotFoundError(WindowError):
    """No window title contains the requested text."""


class AmbiguousWindowError(WindowError):
    """Several windows match and none matches exactly."""


class WindowClosedError(WindowError):
    """The target window was closed (or its process died) while we were using it."""


class WindowMinimizedError(WindowError):
    """The target window is minimised or off the screen: nothing to capture until it comes back."""


class WindowBusyError(WindowError):
    """Another pixelpilot process already drives the window."""


class CropError(PixelpilotError, ValueError):
    """A profile's crop reaches outside the window it is applied to."""
