"""Paintings admitted by their memory cost (``admission.py``): first come, first served within the
budget, one larger than the budget alone, nobody refused; four 12 MP paintings at once through one
stylizer stay within the page's memory and paint exactly what they paint one at a time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

from stylize.admission import MB, MemoryGate, paint_cost

from .conftest import ROOT


def test_paintings_run_together_while_they_fit_and_wait_their_turn_in_order():
    gate = MemoryGate(100)
    order, heard = [], {}
    release = {name: threading.Event() for name in "abcd"}

    def paint(name: str, cost: int) -> None:
        with gate.admitted(cost, lambda ahead, name=name: heard.setdefault(name, []).append(ahead)):
            order.append(name)
            release[name].wait(5)

    threads = []
    for name, cost in (("a", 60), ("b", 30), ("c", 50), ("d", 10)):
        threads.append(threading.Thread(target=paint, args=(name, cost)))
        threads[-1].start()
        time.sleep(0.05)
    assert order == ["a", "b"], "a and b fit together; c does not, and d waits behind c (first come, first served)"
    assert heard == {"c": [2], "d": [3]}
    release["a"].set()
    time.sleep(0.1)
    assert order == ["a", "b", "c", "d"], "a done: c (50) and d (10) fit beside b (30)"
    for event in release.values():
        event.set()
    for thread in threads:
        thread.join(5)
    assert gate.waiting == 0


def test_a_painting_larger_than_the_budget_runs_alone_and_is_not_refused():
    gate = MemoryGate(100)
    started = threading.Event()
    inside = []

    def big() -> None:
        with gate.admitted(500):
            inside.append("big")
            started.set()
            time.sleep(0.2)
            inside.append("big done")

    def small() -> None:
        started.wait(5)
        with gate.admitted(10):
            inside.append("small")

    threads = [threading.Thread(target=big), threading.Thread(target=small)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert inside == ["big", "big done", "small"]


def test_the_cost_grows_with_the_pixels_and_a_tiled_paintings_with_less():
    whole = paint_cost(2048 * 1536, 2048 * 1536, "openvino", tiled=False)
    tiled = paint_cost(4000 * 3000, 4000 * 3000, "openvino", tiled=True)
    assert 0.5e9 < whole < 1e9 and 0.5e9 < tiled < 1.2e9
    assert paint_cost(1024 * 768, 1024 * 768, "litert", tiled=False) > 4 * paint_cost(1024 * 768, 1024 * 768, "openvino", tiled=False)


CHILD = """
import json, sys
from concurrent.futures import ThreadPoolExecutor
import numpy as np
from stylize import Settings, Stylizer, StylizeOptions
from stylize.imaging import decode_image, jpeg_bytes, resize
from stylize.memory import peak_rss_mb
stylizer = Stylizer.from_settings(Settings(model_store=sys.argv[1], cache_dir=sys.argv[2], runtime="openvino"))
photo = jpeg_bytes(resize(decode_image(open(sys.argv[3], "rb").read()), 4000, 3000), quality=92)
options = StylizeOptions(max_side=None, mask="background")
stylizer.stylize(photo, "style19", StylizeOptions(max_side=256))
heard = []
with ThreadPoolExecutor(4) as pool:
    results = list(pool.map(lambda _: stylizer.stylize(photo, "style19", options, waiting=heard.append), range(4)))
peak = peak_rss_mb()  # VmHWM: ru_maxrss would carry the pytest parent's peak over the exec
alone = stylizer.stylize(photo, "style19", options)
print(json.dumps({
    "peak_mb": peak,
    "identical": [bool(np.array_equal(r.image, alone.image)) for r in results],
    "shapes": [list(r.image.shape) for r in results],
    "tiles": [r.tiles for r in results],
    "queued": sum("queued" in r.timings_ms for r in results),
    "heard": heard,
}))
"""


def test_four_12_megapixel_paintings_at_once_stay_within_the_page_memory(shared, tmp_path):
    """The page's scenario: four visitors each send a 12 MP photo at full size at the same moment.
    The process (models loaded) stays under 2 GB — half a page task — the later ones queue, and
    every one is the picture it would be alone."""
    ran = subprocess.run(
        [sys.executable, "-c", CHILD, str(shared), str(tmp_path / "cache"), str(shared / "photos" / "boy.jpg")],
        cwd=ROOT,
        env={**os.environ, "MALLOC_ARENA_MAX": "2"},  # as the page's container runs (Dockerfile)
        capture_output=True,
        encoding="utf-8",
        timeout=600,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    figures = json.loads(ran.stdout.strip().splitlines()[-1])
    assert figures["shapes"] == [[3000, 4000, 3]] * 4 and all(t > 1 for t in figures["tiles"])
    assert figures["identical"] == [True] * 4
    assert figures["queued"] >= 2 and figures["heard"], "the later ones waited, and were told"
    assert figures["peak_mb"] * 1024 * 1024 <= 2048 * MB, figures["peak_mb"]
