"""A report's panel as a wallboard page: the trend per day, SLA compliance
by priority and team, or the trend flags (``wallboard --report PANEL``)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from deskconsole.core.reports.text import pct
from deskconsole.core.records.text import terminal_safe

BARS = 40


def _t(value: str, style: str = "") -> Text:
    return Text(terminal_safe(value, one_line=True), style=style, end="")


def panel(report, which: str):
    """A Rich renderable for ``which`` (trend, compliance, flags) of ``report``."""
    if which == "trend":
        table = Table(box=None, expand=True, padding=(0, 2))
        for name in ("day", "created", "resolved", "breached", ""):
            table.add_column(name, no_wrap=True, ratio=1 if not name else None, header_style="bold underline")
        peak = max((t.created for t in report.trend), default=0) or 1
        for t in report.trend:
            table.add_row(t.label, f"{t.created:,}", f"{t.resolved:,}", _t(f"{t.breaches:,}", "bold" if t.breaches else ""),
                          "█" * round(BARS * t.created / peak))
        return table
    if which == "compliance":
        table = Table(box=None, expand=True, padding=(0, 2))
        for name in ("", "first response", "resolution", "breached"):
            table.add_column(name, no_wrap=True, header_style="bold underline")
        for dim, rows in report.compliance:
            if dim == "service" or not rows:
                continue
            table.add_row(_t(dim, "bold"), "", "", "")
            for row in rows:
                f = row.figures
                table.add_row(_t(f"  {row.label}"), pct(f.compliance("first_response")), pct(f.compliance("resolution")),
                              _t(f"{f.breaches:,}", "bold reverse" if f.breaches else ""))
        total = report.total
        table.add_row(_t("all", "bold"), pct(total.compliance("first_response")), pct(total.compliance("resolution")),
                      f"{total.breaches:,}")
        return table
    if which == "flags":
        if not report.flags:
            return _t("No category or service is running above its baseline.")
        table = Table(box=None, expand=True, padding=(0, 2))
        for name in ("", "last", "tickets", "baseline", "newest"):
            table.add_column(name, no_wrap=True, header_style="bold underline", ratio=1 if name == "newest" else None)
        for f in report.flags:
            table.add_row(_t(f"{f.dimension} {f.name}", "bold"), f.window, _t(f"{f.count:,}", "bold reverse"),
                          f"{f.baseline:g}", " ".join(f.tickets[:6]))
        return table
    raise ValueError(which)
