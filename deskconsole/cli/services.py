"""``deskconsole services [NAME]``: the service map, from the desk's directory.

With no name, the whole map as a tree: at the top what nothing depends on,
below each service what it depends on (configuration items with their type,
the owner team, the open incidents). With a name, that service's upstream
(what it depends on) and downstream (what depends on it), each with its open
incidents, and the impact an incident on it would be suggested.
"""

from __future__ import annotations

import argparse
import csv
import sys

from deskconsole.cli.context import Context
from deskconsole.cli.output import dumps, table, terminal_safe
from deskconsole.core.access.service_map import MapNode, service_map
from deskconsole.core.records.service_context import context_of, open_counts

HELP = "the service map: what each service and configuration item depends on, and what depends on it"
EPILOG = """\
  deskconsole services                     the whole map as a tree (what nothing depends on at the top)
  deskconsole services db-main             what db-main depends on, what depends on it, their open incidents
  deskconsole services --format json       for scripts (also csv)
services and items come from the config's [services.NAME] and [cis.NAME] (type, team, depends_on),
kept in the desk by 'deskconsole admin sync'
"""


def add_commands(command, globals_) -> None:
    p = command("services", cmd_services, HELP, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", nargs="?", help="a service or configuration item (default: the whole map)")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")


def _kind(kind: str) -> str:
    return "-" if kind == "service" else kind


def cmd_services(ctx: Context, args) -> int:
    desk, _ = ctx.open()
    smap = service_map(desk)
    if not len(smap):
        print("this desk has no services: define [services.NAME] (and [cis.NAME]) in the config, then run "
              "'deskconsole admin sync'", file=sys.stderr)
        if args.format == "json":
            print(dumps({"roots": [], "services": []} if args.name is None else {}))
        return 0 if args.name is None else 1
    if args.name is not None:
        return _one(desk, smap, args.name.strip(), args.format)
    counts = open_counts(desk, smap.entries)
    if args.format == "json":
        print(dumps({"roots": smap.roots(), "services": [
            {"name": e.name, "title": e.title, "kind": e.kind, "team": e.team, "depends_on": list(e.depends_on),
             "needed_by": list(smap.dependents.get(e.name, ())), "open_incidents": counts[e.name]}
            for e in smap.entries.values()]}))
    elif args.format == "csv":
        out = csv.writer(sys.stdout, lineterminator="\n")
        out.writerow(["name", "title", "kind", "team", "depends_on", "needed_by", "open_incidents"])
        for e in smap.entries.values():
            out.writerow([e.name, e.title, e.kind, e.team or "", " ".join(e.depends_on),
                          " ".join(smap.dependents.get(e.name, ())), counts[e.name]])
    else:
        rows: list[list[str]] = []

        def walk(nodes: tuple[MapNode, ...] | list[MapNode], prefix: str, top: bool) -> None:
            for i, node in enumerate(nodes):
                last = i == len(nodes) - 1
                branch = "" if top else ("└─ " if last else "├─ ")
                e = node.entry
                label = prefix + branch + e.name + (" (see above)" if node.seen else "")
                rows.append([label, _kind(e.kind), e.team or "-", str(counts[e.name]),
                             terminal_safe(e.title, one_line=True)])
                walk(node.children, prefix + ("" if top else ("   " if last else "│  ")), False)

        walk(smap.tree(), "", True)
        table(rows, ["SERVICE", "TYPE", "TEAM", "OPEN", "TITLE"])
    return 0


def _one(desk, smap, name: str, fmt: str) -> int:
    c = context_of(desk, smap, name, incident=True)
    lines = [("upstream", r) for r in c.upstream] + [("downstream", r) for r in c.downstream]
    if fmt == "json":
        data = {"name": c.service, "title": c.title, "kind": c.kind, "team": c.team,
                "open_incidents": c.open_incidents,
                "upstream": [_line(r) for r in c.upstream], "downstream": [_line(r) for r in c.downstream],
                "suggested_impact": None if c.suggestion is None else
                {"level": c.suggestion.level, "reason": c.suggestion.reason,
                 "dependents": list(c.suggestion.dependents)}}
        print(dumps(data))
        return 0
    if fmt == "csv":
        out = csv.writer(sys.stdout, lineterminator="\n")
        out.writerow(["direction", "name", "title", "kind", "team", "depth", "via", "open_incidents"])
        for direction, r in lines:
            out.writerow([direction, r.name, r.title, r.kind, r.team or "", r.depth, r.via or "", r.open_incidents])
        return 0
    kind = "" if c.kind == "service" else f" ({c.kind})"
    print(f"{c.service}{kind}  {terminal_safe(c.title, one_line=True)}  team {c.team or '-'}  "
          f"{c.open_incidents} open incident(s)")
    if c.suggestion is not None:
        print(f"an incident on it: impact {c.suggestion.text}")
    if not lines:
        print("nothing depends on it and it depends on nothing", file=sys.stderr)
        return 0
    print()
    words = {"upstream": "depends on", "downstream": "needed by"}
    table([[words[direction], r.name, _kind(r.kind), r.team or "-", "direct" if r.depth == 1 else f"via {r.via}",
            str(r.open_incidents), terminal_safe(r.title, one_line=True)] for direction, r in lines],
          ["", "SERVICE", "TYPE", "TEAM", "HOW", "OPEN", "TITLE"])
    return 0


def _line(r) -> dict:
    return {"name": r.name, "title": r.title, "kind": r.kind, "team": r.team, "depth": r.depth, "via": r.via,
            "open_incidents": r.open_incidents}
