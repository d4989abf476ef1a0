"""Eight users on one pipeline at once, with mixed variants, runtimes, sizes and masks: every
result is bit for bit what the same request gives alone."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from stylize import StylizeOptions

pytestmark = pytest.mark.reliability

REQUESTS = [
    ("boy.jpg", "style2", StylizeOptions(transfer="int8", runtime="openvino")),
    ("man_in_suit.jpg", "style9", StylizeOptions(transfer="fp16", runtime="litert", segmenter="segm-lite")),
    ("yoga_balcony.jpg", "style13", StylizeOptions(transfer="dynamic", runtime="openvino", mask="foreground")),
    ("boy.jpg", "style21", StylizeOptions(transfer="int8", runtime="litert", mask="full", strength=0.6)),
    ("man_in_suit.jpg", "style0", StylizeOptions(transfer="fp16", runtime="openvino", max_side=384, segmenter="deeplabv3-gpu")),
    ("yoga_balcony.jpg", "style4", StylizeOptions(transfer="int8", runtime="openvino", paint_side=256)),
    ("boy.jpg", "style17", StylizeOptions(transfer="dynamic", runtime="litert", max_side=320)),
    ("man_in_suit.jpg", "style25", StylizeOptions(transfer="int8", runtime="openvino", letterbox=True)),
]


def test_eight_concurrent_users_match_sequential_runs(stylizer, photo_bytes):
    expected = [stylizer.stylize(photo_bytes(p), s, o).image for p, s, o in REQUESTS]
    rounds = 3
    got: dict[tuple[int, int], np.ndarray] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(REQUESTS))

    def user(i: int) -> None:
        photo, style, options = REQUESTS[i]
        data = photo_bytes(photo)
        barrier.wait()
        try:
            for r in range(rounds):
                got[(i, r)] = stylizer.stylize(data, style, options).image
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=user, args=(i,)) for i in range(len(REQUESTS))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors
    assert len(got) == len(REQUESTS) * rounds
    for (i, _), image in got.items():
        assert np.array_equal(image, expected[i]), REQUESTS[i]
