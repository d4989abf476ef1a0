"""The engine's choices that follow the CPU's instruction set (``stylize/engine/cpu.py``): the
flags are read from the kernel's list, and the fold of the 8-channel convolutions is made only
where the vectors are 16 floats wide — checked both ways through the engine's own check."""

from __future__ import annotations

import numpy as np
import pytest

from stylize.engine import openvino
from stylize.engine.cpu import cpu_flags, cpu_has_avx512, cpu_has_vnni
from stylize.engine.fold import FOLD
from stylize.engine.openvino import OpenVINOEngine

ZEN4 = "processor\t: 0\nflags\t\t: fpu sse avx2 fma avx512f avx512bw avx512_vnni avx512_bf16\n"
ZEN3 = "processor\t: 0\nflags\t\t: fpu sse sse4_2 avx avx2 fma vaes\n"
INT8 = "magenta_arbitrary-image-stylization-v1-256_int8_transfer_1.tflite"


def test_vnni_check_reads_the_cpu_flags():
    assert cpu_has_vnni(ZEN4)
    assert cpu_has_vnni("flags\t\t: fpu avx2 avx_vnni\n")
    assert not cpu_has_vnni(ZEN3)
    assert cpu_has_vnni("processor : 0\n"), "no flags line: OpenVINO's defaults"


def test_avx512_check_reads_the_cpu_flags():
    assert cpu_has_avx512(ZEN4)
    assert not cpu_has_avx512(ZEN3)
    assert not cpu_has_avx512("flags\t\t: fpu avx2 avx_vnni\n"), "AVX-VNNI is a 256-bit extension"
    assert cpu_has_avx512("processor : 0\n"), "no flags line: OpenVINO's defaults"
    assert cpu_flags(ZEN3) == {"fpu", "sse", "sse4_2", "avx", "avx2", "fma", "vaes"}
    assert cpu_flags("processor : 0\n") is None


@pytest.mark.parametrize("avx512", [True, False], ids=["avx512", "avx2"])
def test_the_fold_follows_the_vector_width(shared, monkeypatch, avx512):
    """The default engine folds the int8 transfer network's two 8-channel convolutions into the
    strided ones that read them where the CPU has AVX-512, and folds none on an AVX2 CPU; an
    engine told how many channels to fold does so on either. The paintings agree with the
    unfolded one's either way (≥ 30 dB: bit for bit with integer sums, level flips without)."""
    monkeypatch.setattr(openvino, "cpu_has_avx512", lambda cpuinfo=None: avx512)
    feeds = {"content_image": np.random.default_rng(0).random((1, 384, 384, 3), np.float32), "mobilenet_conv/Conv/BiasAdd": np.full((1, 1, 1, 100), 0.1, np.float32)}
    painted = {}
    for label, engine in (("default", OpenVINOEngine()), ("told", OpenVINOEngine(fold=FOLD)), ("none", OpenVINOEngine(fold=0))):
        model = engine.load(shared / "models" / INT8)
        painted[label] = model.run(feeds)[0]
        painted[label + " folds"] = model.convs_folded
    assert painted["default folds"] == (2 if avx512 else 0)
    assert (painted["told folds"], painted["none folds"]) == (2, 0)
    for label in ("default", "told"):
        mse = float(np.mean((painted[label].astype(np.float64) - painted["none"]) ** 2))
        assert mse == 0 or 10 * np.log10(1 / mse) >= 30, label
