"""The console: Textual app, panes and modal screens."""
