"""The console's modal screens: each collects input, validates it locally and
returns plain values through ``dismiss``; none of them touches the desk."""

from deskconsole.ui.screens.confirm import ConfirmScreen
from deskconsole.ui.screens.help import HelpScreen
from deskconsole.ui.screens.link import LinkScreen
from deskconsole.ui.screens.new_ticket import NewTicketScreen
from deskconsole.ui.screens.picker import PickerScreen
from deskconsole.ui.screens.resolve import ResolveScreen
from deskconsole.ui.screens.text_entry import TextEntryScreen
from deskconsole.ui.screens.triage import TriageScreen

__all__ = [
    "ConfirmScreen",
    "HelpScreen",
    "LinkScreen",
    "NewTicketScreen",
    "PickerScreen",
    "ResolveScreen",
    "TextEntryScreen",
    "TriageScreen",
]
