"""Knowledge search on a desk of N articles: writes them through the core
(one unit of work each, versions and audit included), then times search
(every word ANDed, ranked), suggestions for a ticket (words ORed, same
service first) and the list, in-process, medians over --runs.

    python bench/kb_search.py --articles 10000 [--db postgresql://postgres@127.0.0.1/kbbench]

Prints one line per figure and a JSON line last.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from deskconsole.config import parse_config
from deskconsole.core.desk import open_desk
from deskconsole.core.identity import Actor
from deskconsole.core.knowledge import articles, kb_search
from deskconsole.core.records import tickets

CONFIG = """
[desk]
name = "bench"
default_team = "ops"
[teams.ops]
name = "Operations"
[agents.al]
name = "Al"
role = "lead"
team = "ops"
[services.vpn]
name = "VPN"
[services.mail]
name = "Mail"
"""
WORDS = ("vpn printer mail disk network password reset laptop wifi certificate proxy dns outage queue backup"
         " restore login token profile driver update reboot install cache timeout latency firewall route").split()


VOCABULARY = [f"term{n}" for n in range(5000)]  # the rest of the language, Zipf-like: a few words everywhere


def sentence(rng: random.Random, n: int, common: float = 0.03) -> str:
    """``n`` words: a share ``common`` of them from WORDS (each in a few % of
    articles), the others from VOCABULARY with a long tail; --pathological: all from WORDS."""
    out = []
    for _ in range(n):
        if rng.random() < common:
            out.append(rng.choice(WORDS))
        else:
            out.append(VOCABULARY[min(int(rng.paretovariate(1.1)) - 1, len(VOCABULARY) - 1)])
    return " ".join(out)


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--db", help="a database URL (default: a SQLite file in a temporary folder)")
    parser.add_argument("--pathological", action="store_true",
                        help="every article made of 30 words only: a one-word search matches nearly all of them")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="kbbench-")
    url = args.db or f"sqlite:///{Path(folder) / 'desk.db'}"
    desk = open_desk(url, parse_config(CONFIG, "bench.toml"))
    al = Actor("al", "Al", "lead", "ops")
    rng = random.Random(7)
    start = time.perf_counter()
    for i in range(args.articles):
        common = 1.0 if args.pathological else 0.03
        a = articles.create(desk, al, title=sentence(rng, 6, common * 5 if common < 1 else 1.0),
                            body="\n\n".join(sentence(rng, 40, common) for _ in range(5)),
                            tags=" ".join(rng.sample(WORDS, 2)), service=rng.choice(["vpn", "mail", None]))
        if i % 3:
            articles.publish(desk, al, a.key)
    write = (time.perf_counter() - start) / args.articles * 1000
    if not desk.is_sqlite:
        desk.db.execute_sql("ANALYZE article")  # as autovacuum would after a bulk load
    t = tickets.create(desk, al, title="VPN drops after the laptop driver update", service="vpn")
    figures = {
        "articles": args.articles,
        "backend": "sqlite" if desk.is_sqlite else "postgresql",
        "matches_vpn": len(kb_search.search(desk, "vpn", states=None, limit=0)),
        "write_ms_per_article": round(write, 2),
        "search_one_word_ms": median_ms(lambda: kb_search.search(desk, "vpn", limit=20), args.runs),
        "search_three_words_ms": median_ms(lambda: kb_search.search(desk, "vpn driver reboot", limit=20), args.runs),
        "search_prefix_ms": median_ms(lambda: kb_search.search(desk, "cert*", limit=20), args.runs),
        "search_rare_word_ms": median_ms(lambda: kb_search.search(desk, "term4321", limit=20), args.runs),
        "search_nothing_ms": median_ms(lambda: kb_search.search(desk, "zebra", limit=20), args.runs),
        "suggest_ms": median_ms(lambda: kb_search.suggest(desk, t.key), args.runs),
        "list_ms": median_ms(lambda: kb_search.listing(desk, limit=100), args.runs),
    }
    for name, value in figures.items():
        print(f"{name:<24} {value:.2f}" if isinstance(value, float) else f"{name:<24} {value}")
    print(json.dumps(figures))
    desk.close()


if __name__ == "__main__":
    main()
