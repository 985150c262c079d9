"""A board left running for hours holds steady: sped up with the injected
clock, tickets opening and closing all along, pages turning — the snapshots
kept and the widgets on screen do not grow, and neither does the Python
heap beyond what Textual's bounded render caches take while they fill
(bench/wallboard.py --trace runs the same for 24 simulated hours: the heap
levels off after a few hours and stays within 0.02 MB to the end)."""

from __future__ import annotations

import gc
import tracemalloc

from deskconsole.models import Ticket

HOURS = 3
STEP = 120  # simulated seconds per step


async def test_hours_of_simulated_time_grow_nothing(built, new_app, actors, clock, settle):
    from deskconsole.core.records import tickets

    app = new_app(rotate=600)  # a page turn every 10 simulated minutes
    al = actors["al"]
    heap: list[float] = []
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(app, pilot)
        widgets = len(app.screen.query("*"))
        tracemalloc.start()
        try:
            for step in range(1, HOURS * 3600 // STEP + 1):
                clock.advance(STEP)
                tickets.create(built, al, title=f"Simulated ticket {step}", priority=("P1", "P2", "P3", "P4")[step % 4])
                oldest = Ticket.select(Ticket.id).where(Ticket.status == "new").order_by(Ticket.id).first()
                if step > 10 and oldest is not None:
                    tickets.resolve(built, al, f"INC-{oldest.id}", "fixed")
                app.tick()
                await app.poll_feed()
                await settle(app, pilot, rounds=1)
                if step % (3600 // STEP) == 0:
                    gc.collect()
                    heap.append(tracemalloc.get_traced_memory()[0] / 1e6)
        finally:
            tracemalloc.stop()
        assert len(app.snapshots) <= len(app.pages)  # one snapshot per page, never more
        assert len(app.snapshots) >= 3  # the pages did turn
        assert len(app.screen.query("*")) == widgets
        assert app.failures == 0 and app.reads >= HOURS * 3600 // STEP
    growth = heap[-1] - heap[0]  # from the end of the first hour to the end
    print(f"\nPython heap by simulated hour (MB): {[round(h, 2) for h in heap]}; growth after the first hour "
          f"{growth:+.2f} MB; {Ticket.select().count()} tickets at the end")
    assert growth < 1.0, f"the heap grew {growth:+.2f} MB over {HOURS - 1} simulated hours: {heap}"
