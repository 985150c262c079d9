"""A change's part of the detail pane: its fields (type, risk, planned window
in the desk's time zone, services, actual start and end, outcome), then what
its window runs into (collisions, first: they are warnings), its approvals
(each rule waiting, or approved by whom), the decisions with their comments,
the implementation, test and backout plans and the incidents linked to it.

Built as Rich ``Text``: ticket text is data, never markup."""

from __future__ import annotations

from datetime import tzinfo

from rich.text import Text

from deskconsole.core.records.change_requests import ChangeView
from deskconsole.core.records.change_text import change_fields
from deskconsole.core.records.text import terminal_safe

__all__ = ["fields_of_change", "change_warnings", "render_change", "PLAN_CHARS"]

# A change's fields in the detail pane, in this order (the record base's
# Category and Service give way to its own type, risk, window and services).
FIELD_ORDER = ("Status", "Type", "Risk", "Planned", "Services", "Actual", "Outcome", "Team", "Assignee", "Priority",
               "Created", "Updated", "Version")

PLAN_CHARS = 5_000  # of one plan; 'deskconsole change show' prints all of it


def _safe(text: str | None, limit: int, *, one_line: bool = False) -> str:
    text = terminal_safe(text or "", one_line=one_line)
    if len(text) > limit:
        return text[:limit] + f"… ({len(text):,} characters; 'deskconsole change show' prints all of it)"
    return text


def _indented(text: str, prefix: str = "  ", style: str = "") -> Text:
    return Text("\n").join(Text(prefix + line, style=style) for line in text.split("\n"))


def fields_of_change(fields: list[tuple[str, str]], c: ChangeView, tz: tzinfo) -> list[tuple[str, str]]:
    """The detail's fields for a change: its own first, then the record's (``FIELD_ORDER``)."""
    given = dict(fields + change_fields(c, tz))
    return [(name, given[name]) for name in FIELD_ORDER if name in given]


def change_warnings(c: ChangeView) -> Text:
    """What the change's window runs into, for the top of its detail: warnings, never refusals."""
    out = Text()
    if c.collisions:
        out.append(f"⚠ {len(c.collisions)} collision{'s' if len(c.collisions) != 1 else ''} (they warn, "
                   "nothing is refused)", style="bold reverse")
        out.append("\n")
        for x in c.collisions:
            out.append(f"! {_safe(x.message, 400, one_line=True)}\n", style="bold")
    return out


def render_change(c: ChangeView, tz: tzinfo) -> Text:
    """The sections of a change's detail below its fields."""
    out = Text()
    out.append(f"\nApprovals (round {c.round})\n" if c.requirements else "\nApprovals\n", style="bold underline")
    if c.requirements:
        for r in c.requirements:
            if r.by:
                out.append(f"✓ {r.rule}: approved by {r.by} {r.at.astimezone(tz):%m-%d %H:%M %Z}\n")
            else:
                out.append(f"… {r.rule}: waiting", style="bold")
                out.append(f" for {_safe(r.who, 200, one_line=True)}\n", style="dim")
    elif c.type == "standard":
        out.append("pre-approved (standard change)\n")
    else:
        out.append(f"none needed for a {c.type} change\n")
    if c.decisions:
        out.append("\nDecisions\n", style="bold underline")
        for d in c.decisions:
            verb = "approved" if d.decision == "approve" else "REJECTED"
            out.append(f"{d.at.astimezone(tz):%m-%d %H:%M %Z} round {d.round} ", style="dim")
            out.append(f"{verb} by {d.approver} ({d.rule})\n", style="bold" if d.decision == "reject" else "")
            if d.comment:
                out.append_text(_indented(_safe(d.comment, 2000), "  │ ", style="italic"))
                out.append("\n")
    for label, text in (("Implementation plan", c.implementation), ("Test plan", c.test_plan),
                        ("Backout plan", c.backout)):
        out.append(f"\n{label}\n", style="bold underline")
        out.append(_safe(text, PLAN_CHARS) or "(none yet)")
        out.append("\n")
    caused, fixed = c.incidents.get("caused") or [], c.incidents.get("fixed") or []
    if caused or fixed:
        out.append("\nIncidents\n", style="bold underline")
        if caused:
            out.append(f"caused: {', '.join(caused)}\n")
        if fixed:
            out.append(f"fixed:  {', '.join(fixed)}\n")
    return out
