"""deskconsole: a keyboard-first service desk for the terminal."""

__version__ = "0.1.0"
