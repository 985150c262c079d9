"""The wallboard: a read-only, self-running view of the desk for a shared screen
(``deskconsole wallboard``). See :mod:`deskconsole.ui.wallboard.app`."""

from deskconsole.ui.wallboard.app import WallboardApp

__all__ = ["WallboardApp"]
