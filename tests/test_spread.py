"""Few-channel convolutions computed over their output's phases (``engine/spread.py``): the
rewrite computes what the convolution computed, for float weights and for int8 ones with their
per-channel scale; it leaves a convolution whose output sides are not multiples of the block;
the transfer models' pictures (int8, float16 in each precision the CPU offers) and a tiled
painting are the same as without it."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from stylize import Settings, StylizeOptions, Stylizer
from stylize.engine import F32
from stylize.engine.cpu import cpu_has_vnni
from stylize.engine.fold import FOLD, fold_into_strided_convolutions, fold_kernel, halve_kernel
from stylize.engine.openvino import OpenVINOEngine
from stylize.engine.spread import BLOCK, THIN, phase_kernel, spread_thin_convolutions
from stylize.imaging import decode_image, psnr
from stylize.manifest import load_manifest
from stylize.store import ModelStore
from stylize.tiling import paint_tiled

PHOTOS = ("boy.jpg", "man_in_suit.jpg", "yoga_balcony.jpg")
SIZES = {"384²": (384, 384), "non-square": (640, 424)}


def conv_model(side: int, out_channels: int, kernel: int, quantized: bool, seed: int = 0, normalised: bool = False):
    """A model of one valid, stride-1 convolution of a ``side``² picture of 5 channels, plus a
    per-channel bias; with int8 weights and a per-channel scale (as OpenVINO reads an int8
    TFLite file) or float ones; ``normalised``: then an instance normalisation (``MVN`` over
    height and width, as ``norms.py`` writes it), and the float model's bias a float16 constant
    converted, as OpenVINO reads a float16 file. Returns (model, its input, the weights as float)."""
    import openvino as ov
    import openvino.opset11 as ops

    rng = np.random.default_rng(seed)
    x = ops.parameter([1, 5, side + kernel - 1, side + kernel - 1], np.float32, name="x")
    if quantized:
        q = rng.integers(-127, 128, (out_channels, 5, kernel, kernel)).astype(np.int8)
        scale = rng.uniform(0.001, 0.01, (out_channels, 1, 1, 1)).astype(np.float32)
        weights = ops.multiply(ops.convert(ops.constant(q), np.float32), ops.constant(scale))
        as_float = q.astype(np.float32) * scale
    else:
        as_float = rng.standard_normal((out_channels, 5, kernel, kernel)).astype(np.float32)
        weights = ops.constant(as_float)
    y = ops.convolution(x, weights, [1, 1], [0, 0], [0, 0], [1, 1], auto_pad="valid")
    bias = rng.standard_normal((1, out_channels, 1, 1)).astype(np.float32)
    if normalised and not quantized:  # as a float16 file's bias reads: Unsqueeze(Convert(Constant))
        bias = ops.unsqueeze(ops.convert(ops.constant(bias.reshape(out_channels, 1, 1).astype(np.float16)), np.float32), ops.constant(np.array([0], np.int64)))
    y = ops.add(y, bias)
    if normalised:
        if quantized:
            y = ops.fake_quantize(y, *(ops.constant(np.float32(v)) for v in (-40, 40, -40, 40)), 256)
        y = ops.mvn(y, ops.constant(np.array([2, 3], np.int64)), True, 1e-3, "inside_sqrt")
    model = ov.Model([ops.result(ops.sigmoid(y))], [x])
    return model, rng.standard_normal((1, 5, side + kernel - 1, side + kernel - 1)).astype(np.float32), as_float


def run(model, x: np.ndarray) -> np.ndarray:
    """``model`` compiled as the engine compiles on this CPU (without VNNI: the low-precision
    transformations off, so the int8 weights are multiplied in float32), run on ``x``."""
    import openvino as ov

    config = {key: value for key, value in OpenVINOEngine().config.items() if key in ("INFERENCE_PRECISION_HINT", "LP_TRANSFORMS_MODE")}
    return ov.Core().compile_model(model, "CPU", config)(x)[0]


INTEGER_SUMS = cpu_has_vnni()  # the engine sums an int8 convolution's products as integers (in any order, the same)


@pytest.mark.parametrize("quantized", [False, True], ids=["float", "int8 weights"])
@pytest.mark.parametrize("kernel", [3, 9])
def test_a_spread_convolution_computes_what_the_convolution_did(quantized, kernel):
    model, x, _ = conv_model(12, 3, kernel, quantized)
    before = run(model, x)
    assert spread_thin_convolutions(model) == 1
    kinds = Counter(n.get_type_name() for n in model.get_ops())
    assert kinds["DepthToSpace"] == 1 and kinds["Convolution"] == 1
    conv = next(n for n in model.get_ops() if n.get_type_name() == "Convolution")
    assert list(conv.get_attributes()["strides"]) == [BLOCK, BLOCK] and conv.get_output_partial_shape(0)[1].get_length() == 3 * BLOCK * BLOCK
    after = run(model, x)
    assert after.shape == before.shape == (1, 3, 12, 12)
    np.testing.assert_allclose(after, before, rtol=0, atol=1e-5)
    assert spread_thin_convolutions(model) == 0, "nothing left to rewrite"


@pytest.mark.parametrize("quantized", [False, True], ids=["float", "int8 weights"])
def test_a_normalisation_after_a_spread_convolution_runs_on_the_phases(quantized):
    """What follows the convolution channel by channel (bias, quantization, normalisation,
    sigmoid) runs on the phases, so the phases are put back last; the normalisation's statistics
    over each channel's phases together are its statistics over the picture: the same values up
    to the order of the sums."""
    model, x, _ = conv_model(16, 3, 9, quantized, normalised=True)
    before = run(model, x)
    assert spread_thin_convolutions(model) == 1
    kinds = Counter(n.get_type_name() for n in model.get_ops())
    assert kinds["MVN"] == 0 and kinds["Sigmoid"] == 1
    phase_shape = (1, 3 * BLOCK * BLOCK, 16 // BLOCK, 16 // BLOCK)
    means = [n for n in model.get_ops() if n.get_type_name() == "ReduceMean" and tuple(n.get_input_partial_shape(0).to_shape()) == phase_shape]
    assert len(means) == 2, "mean and variance, each over the phases"
    sigmoid = next(n for n in model.get_ops() if n.get_type_name() == "Sigmoid")
    assert tuple(sigmoid.get_input_partial_shape(0).to_shape()) == phase_shape
    to_space = next(n for n in model.get_ops() if n.get_type_name() == "DepthToSpace")
    assert [t.get_node().get_type_name() for t in to_space.output(0).get_target_inputs()] == ["Result"]
    np.testing.assert_allclose(run(model, x), before, rtol=0, atol=1e-5)


def test_a_style_scale_and_shift_computed_per_channel_run_on_the_phases():
    """The last normalisation's scale and shift come from the style vector — values computed per
    channel, not constants: each is repeated for its channel's phases in the graph, so the
    sigmoid after them runs on the phases too and the result is the same."""
    import openvino as ov
    import openvino.opset11 as ops

    rng = np.random.default_rng(3)
    x = ops.parameter([1, 5, 24, 24], np.float32, name="x")
    style = ops.parameter([1, 3, 1, 1], np.float32, name="style")
    y = ops.convolution(x, ops.constant(rng.standard_normal((3, 5, 9, 9)).astype(np.float32)), [1, 1], [0, 0], [0, 0], [1, 1], auto_pad="valid")
    y = ops.mvn(y, ops.constant(np.array([2, 3], np.int64)), True, 1e-3, "inside_sqrt")
    y = ops.add(ops.multiply(y, ops.exp(style)), ops.multiply(style, ops.constant(np.float32(0.5))))
    model = ov.Model([ops.result(ops.sigmoid(y))], [x, style])
    feeds = [rng.standard_normal((1, 5, 24, 24)).astype(np.float32), rng.standard_normal((1, 3, 1, 1)).astype(np.float32)]
    compiled = ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    before = compiled(feeds)[0]
    assert spread_thin_convolutions(model) == 1
    sigmoid = next(n for n in model.get_ops() if n.get_type_name() == "Sigmoid")
    assert tuple(sigmoid.get_input_partial_shape(0).to_shape()) == (1, 3 * BLOCK * BLOCK, 16 // BLOCK, 16 // BLOCK)
    after = ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})(feeds)[0]
    np.testing.assert_allclose(after, before, rtol=0, atol=1e-5)


def pair_model(side: int, kernel: int, quantized: bool, pad: int = 1, second_kernel: int = 3, seed: int = 1, stride: int = 2, normalised: bool = False):
    """The transfer network's head in small: a stride-1 convolution of a ``side``² picture from 3
    channels to 8 (int8 weights with a per-channel scale, or float), its bias (``normalised``: then
    an instance normalisation, as ``norms.py`` writes it), ``Relu`` (and, int8, a quantization of
    one range), a mirror ``Pad`` by ``pad`` and — through a ``Convert`` and a second quantization,
    int8 — a convolution of ``stride`` to 16 channels. Returns (model, input)."""
    import openvino as ov
    import openvino.opset11 as ops

    rng = np.random.default_rng(seed)

    def weights(out_channels, in_channels, k):
        if quantized:
            q = rng.integers(-127, 128, (out_channels, in_channels, k, k)).astype(np.int8)
            return ops.multiply(ops.convert(ops.constant(q), np.float32), ops.constant(rng.uniform(0.001, 0.01, (out_channels, 1, 1, 1)).astype(np.float32)))
        return ops.convert(ops.constant(rng.standard_normal((out_channels, in_channels, k, k)).astype(np.float16)), np.float32)

    x = ops.parameter([1, 3, side + kernel - 1, side + kernel - 1], np.float32, name="x")
    y = ops.convolution(x, weights(8, 3, kernel), [1, 1], [0, 0], [0, 0], [1, 1], auto_pad="valid")
    y = ops.add(y, ops.constant(rng.standard_normal((1, 8, 1, 1)).astype(np.float32)))
    if normalised:
        y = ops.add(ops.mvn(y, ops.constant(np.array([2, 3], np.int64)), True, 1e-3, "inside_sqrt"), ops.constant(np.float32(0.5)))
    y = ops.relu(y)
    limits = [ops.constant(np.float32(v)) for v in (0, 30, 0, 30)]
    if quantized:
        y = ops.fake_quantize(y, *limits, 256)
    y = ops.pad(y, ops.constant(np.array([0, 0, pad, pad], np.int64)), ops.constant(np.array([0, 0, pad, pad], np.int64)), "reflect")
    if quantized:
        y = ops.fake_quantize(ops.convert(y, np.float32), *limits, 256)
    y = ops.convolution(y, weights(16, 8, second_kernel), [stride, stride], [0, 0], [0, 0], [1, 1], auto_pad="valid")
    model = ov.Model([ops.result(ops.relu(y))], [x])
    return model, rng.standard_normal((1, 3, side + kernel - 1, side + kernel - 1)).astype(np.float32)


@pytest.mark.parametrize("quantized", [False, True], ids=["float", "int8 weights"])
@pytest.mark.parametrize(("side", "kernel"), [(16, 9), (10, 3), (12, 9)])
def test_a_convolution_folded_into_the_strided_one_after_it_computes_the_same(quantized, side, kernel):
    """The first convolution over its 2×2 phases, read by the second as a 2×2 kernel of stride 1
    over the phases padded by their edge: no picture at full resolution is made (no
    ``DepthToSpace``, no ``Pad`` by mirroring), and the result is the same — bit for bit in
    int8 where the engine sums its products as integers (VNNI), to float32's rounding in float
    and where it multiplies the int8 weights in float32 (no VNNI)."""
    model, x = pair_model(side, kernel, quantized)
    before = run(model, x)
    assert fold_into_strided_convolutions(model) == 1
    kinds = Counter(n.get_type_name() for n in model.get_ops())
    assert kinds["DepthToSpace"] == 0 and kinds["Convolution"] == 2
    assert [n.get_attributes()["pad_mode"] for n in model.get_ops() if n.get_type_name() == "Pad"] == ["edge"]
    convs = [n for n in model.get_ordered_ops() if n.get_type_name() == "Convolution"]
    assert [list(c.get_attributes()["strides"]) for c in convs] == [[2, 2], [1, 1]]
    assert tuple(convs[1].get_input_partial_shape(1).to_shape()) == (16, 8 * 4, 2, 2)
    after = run(model, x)
    assert after.shape == before.shape == (1, 16, side // 2, side // 2)
    if quantized and INTEGER_SUMS:
        np.testing.assert_array_equal(after, before)
    else:
        np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-3)
    assert fold_into_strided_convolutions(model) == 0, "nothing left to fold"


@pytest.mark.parametrize("quantized", [False, True], ids=["float", "int8 weights"])
@pytest.mark.parametrize(
    ("side", "pad", "second_kernel", "stride", "normalised"),
    [(16, 4, 12, 4, False), (16, 4, 12, 4, True), (20, 2, 4, 2, False), (24, 2, 6, 4, True), (12, 4, 8, 2, False), (6, 4, 4, 2, True)],
)
def test_a_convolution_read_mirrored_by_an_even_width_is_folded_into_the_reader(quantized, side, pad, second_kernel, stride, normalised):
    """The one before the last and the last (spread: a 12×12 kernel of stride 4, the picture
    mirrored by 4) in small: the first over its 2×2 phases, normalised there, mirrored there by
    half the width — each phase by its own rule — and read by half the kernel at half the stride.
    No picture at full resolution, no ``Pad``; the same result, bit for bit in int8 (integer sums,
    VNNI; without a normalisation, whose sums run in another order), to float32's rounding in
    float. Where the int8 weights are multiplied in float32 (no VNNI), or a normalisation sums in
    another order, a level may flip where a sum sits on a quantization step.
    The smallest case mirrors by as wide as a mirror can be: 4 of 6 pixels, 2 of a phase's 3 rows."""
    model, x = pair_model(side, 3, quantized, pad=pad, second_kernel=second_kernel, stride=stride, normalised=normalised)
    before = run(model, x)
    assert fold_into_strided_convolutions(model) == 1
    kinds = Counter(n.get_type_name() for n in model.get_ops())
    assert kinds["DepthToSpace"] == 0 and kinds["Pad"] == 0 and kinds["MVN"] == 0 and kinds["Convolution"] == 2
    convs = [n for n in model.get_ordered_ops() if n.get_type_name() == "Convolution"]
    assert [list(c.get_attributes()["strides"]) for c in convs] == [[2, 2], [stride // 2] * 2]
    assert tuple(convs[1].get_input_partial_shape(1).to_shape()) == (16, 8 * 4, second_kernel // 2, second_kernel // 2)
    after = run(model, x)
    assert after.shape == before.shape and after.shape[2] == (side + 2 * pad - second_kernel) // stride + 1
    if quantized and not normalised and INTEGER_SUMS:
        np.testing.assert_array_equal(after, before)
    elif quantized:  # a level may flip where a sum summed in another order sits on a quantization step
        assert np.mean(~np.isclose(after, before, rtol=1e-5, atol=1e-3)) < 0.02 and np.abs(after - before).max() < 0.2 * np.abs(before).max()
    else:
        np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-3)
    assert fold_into_strided_convolutions(model) == 0, "nothing left to fold"


def test_halving_a_kernel_puts_each_tap_on_its_phase_and_offset():
    weights = np.arange(2 * 3 * 6 * 6, dtype=np.float32).reshape(2, 3, 6, 6) + 1
    halved = halve_kernel(weights)
    assert halved.shape == (2, 12, 3, 3)
    assert sorted(halved.ravel()) == sorted(weights.ravel()), "each tap once"
    for c in range(3):
        for dy in range(6):
            for dx in range(6):
                assert halved[1, c * 4 + (dy % 2) * 2 + dx % 2, dy // 2, dx // 2] == weights[1, c, dy, dx]


def test_a_pair_the_fold_does_not_fit_is_left_as_it_is():
    """A mirror of 2 pixels read by an odd (3×3) kernel, a 5×5 second kernel, an odd picture
    side, an odd stride, an odd mirror wider than 1, more output channels than FOLD: nothing is
    folded."""
    unfit = (
        pair_model(12, 3, False, pad=2), pair_model(12, 3, True, second_kernel=5), pair_model(11, 3, False),
        pair_model(12, 3, False, pad=2, second_kernel=4, stride=3), pair_model(12, 3, False, pad=3, second_kernel=4),
    )
    for model, _ in unfit:
        assert fold_into_strided_convolutions(model) == 0
    model, _ = pair_model(12, 3, False)
    assert fold_into_strided_convolutions(model, max_channels=FOLD - 1) == 0 and fold_into_strided_convolutions(model, max_channels=0) == 0


def test_the_fold_kernel_puts_each_tap_on_its_phase():
    weights = np.arange(2 * 3 * 3 * 3, dtype=np.float32).reshape(2, 3, 3, 3) + 1
    folded = fold_kernel(weights)
    assert folded.shape == (2, 12, 2, 2)
    assert np.count_nonzero(folded) == weights.size and folded.sum() == weights.sum(), "each tap once, zeros elsewhere"
    phases = folded.reshape(2, 3, 2, 2, 2, 2)  # o, c, phase row, phase column, row, column
    taps = {0: (1, 0), 1: (0, 1), 2: (1, 1)}
    for dy, (a, ky) in taps.items():
        for dx, (b, kx) in taps.items():
            np.testing.assert_array_equal(phases[:, :, a, b, ky, kx], weights[:, :, dy, dx])


def test_the_phase_kernel_holds_the_kernel_at_each_phase():
    weights = np.arange(2 * 3 * 3 * 3, dtype=np.float32).reshape(2, 3, 3, 3) + 1
    phases = phase_kernel(weights, 2)
    assert phases.shape == (8, 3, 4, 4)
    for o in range(2):
        for a in range(2):
            for b in range(2):
                placed = phases[o * 4 + a * 2 + b]
                np.testing.assert_array_equal(placed[:, a : a + 3, b : b + 3], weights[o])
                assert placed.sum() == weights[o].sum(), "zeros elsewhere"


def test_a_convolution_the_rewrite_does_not_fit_is_left_as_it_is():
    """An output whose sides are not multiples of the block, more output channels than THIN, or
    a stride of 2: nothing is rewritten and the model computes as before."""
    import openvino as ov
    import openvino.opset11 as ops

    odd, x, _ = conv_model(10, 3, 9, True)
    before = run(odd, x)
    wide, _, _ = conv_model(12, THIN + 1, 3, False)
    assert spread_thin_convolutions(odd) == 0 and spread_thin_convolutions(wide) == 0
    assert Counter(n.get_type_name() for n in odd.get_ops())["DepthToSpace"] == 0
    np.testing.assert_array_equal(run(odd, x), before)
    p = ops.parameter([1, 5, 13, 13], np.float32)
    strided = ov.Model([ops.result(ops.convolution(p, ops.constant(np.ones((3, 5, 3, 3), np.float32)), [2, 2], [0, 0], [0, 0], [1, 1]))], [p])
    assert spread_thin_convolutions(strided) == 0
    assert spread_thin_convolutions(odd, max_channels=0) == 0


@pytest.fixture(scope="module")
def pair(shared, tmp_path_factory):
    """Two stylizers on the same store, OpenVINO with the thin convolutions spread and the first
    one folded into the second (as shipped), and without either."""
    made = {}
    for thin in (THIN, 0):
        settings = Settings(model_store=str(shared), cache_dir=tmp_path_factory.mktemp(f"spread-{thin}"), runtime="openvino")
        store = ModelStore.from_spec(settings.model_store, settings.cache_dir)
        made[thin] = Stylizer(load_manifest(), store, OpenVINOEngine(threads=2, cache_dir=store.cache_dir, thin=thin, fold=FOLD if thin else 0))
    return made


@pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
def test_transfer_models_paint_the_same_with_their_thin_convolutions_spread(pair, stylizer, shared, size):
    """The last convolution (3 output channels) is spread in every transfer model, the first (8)
    folded into the second and the one before the last (8) into the last, and the sample photos
    paint the same. The float models: ≥ 60 dB from the painting without (measured:
    bit-identical in float32). The int8 model, whose last normalisation now sums over the phases
    in another order — so a value on the edge of a quantization step can land on the other side,
    and its picture moves as a quantized network's does (51 dB on the boy at 384²) — is held to
    the issue's bound: over the photos, within 0.5 dB of the model as read against the float
    reference (float16 on LiteRT), and on no photo more than 1 dB."""
    from PIL import Image

    rgbs = [np.asarray(Image.fromarray(decode_image((shared / "photos" / name).read_bytes())).resize(SIZES[size])) for name in PHOTOS]
    reference_options = StylizeOptions(transfer="fp16", runtime="litert", precision=F32, mask="full", max_side=None)
    references = [stylizer.stylize(rgb, "style19", reference_options).image for rgb in rgbs]
    for transfer in ("int8", "fp16"):
        for precision in OpenVINOEngine().precisions():
            options = StylizeOptions(transfer=transfer, runtime="openvino", precision=precision, mask="full", max_side=None)
            fidelity: dict[int, list[float]] = {THIN: [], 0: []}
            for name, rgb, reference in zip(PHOTOS, rgbs, references, strict=True):
                spread, as_read = (pair[thin].stylize(rgb, "style19", options).image for thin in (THIN, 0))
                assert spread.shape == as_read.shape == (SIZES[size][1], SIZES[size][0], 3)
                if transfer == "int8":
                    fidelity[THIN].append(psnr(spread, reference))
                    fidelity[0].append(psnr(as_read, reference))
                    assert fidelity[THIN][-1] >= fidelity[0][-1] - 1.0, f"{precision} {name}: spread {fidelity[THIN][-1]:.2f} dB, as read {fidelity[0][-1]:.2f} dB"
                elif precision == F32:
                    assert psnr(spread, as_read) >= 60, f"{transfer} {precision} {name}: {psnr(spread, as_read):.1f} dB"
                else:  # bfloat16 rounds each sum as it comes: held to its own float32 painting, as test_norms.py holds the fused norms
                    own = pair[0].stylize(rgb, "style19", replace(options, precision=F32)).image
                    fidelity[THIN].append(psnr(spread, own))
                    fidelity[0].append(psnr(as_read, own))
            if fidelity[0]:
                assert np.mean(fidelity[THIN]) >= np.mean(fidelity[0]) - 0.5, f"{transfer} {precision}: spread {fidelity[THIN]}, as read {fidelity[0]}"
            model = pair[THIN].model(pair[THIN].manifest.get("transfer", transfer), "openvino", precision)
            assert (model.convs_spread, model.convs_folded, model.norms_on_phases) == (1, 2, 2), f"{transfer} {precision}: the last convolution spread, the first folded into the second and the one before the last into the last, each of the last two normalised on its phases"
            as_read = pair[0].model(pair[0].manifest.get("transfer", transfer), "openvino", precision)
            assert (as_read.convs_spread, as_read.convs_folded) == (0, 0)


def test_a_tiled_painting_is_the_same_with_its_last_stage_spread(pair, shared, tmp_path):
    """The stage that holds the last convolution has it spread (its tiles' sides allow it), and
    the tiled painting is ≥ 60 dB from the one without, folded alike (measured: 80.7 dB, 28 pixels
    differ, with VNNI; identical without). Against ``pair[0]``, which folds nothing either, the
    first stage's fold would count too: where the int8 weights are multiplied in float32 (no
    VNNI) its sums in another order flip levels that the int8 network carries to the end."""
    from PIL import Image

    store = ModelStore.from_spec(str(shared), tmp_path)
    unspread = Stylizer(load_manifest(), store, OpenVINOEngine(threads=2, cache_dir=store.cache_dir, thin=0, fold=FOLD))
    plans = {thin: stylizer.stage_models(stylizer.manifest.get("transfer", "int8"), "openvino") for thin, stylizer in ((THIN, pair[THIN]), (0, unspread))}
    rgb = np.asarray(Image.open(shared / "photos" / "man_in_suit.jpg").convert("RGB").resize((1000, 604)))
    vector = pair[THIN].vectors.vector(pair[THIN].style("style3"))
    spread, as_read = (paint_tiled(plans[thin][1], plans[thin][0], rgb, vector, 256) for thin in (THIN, 0))
    spread_stages = [m.convs_spread for m in plans[THIN][1]]
    assert sum(spread_stages) == 1 and max(spread_stages) == 1, f"one stage holds the last convolution, spread in the tiles whose sides allow it: {spread_stages}"
    assert not any(m.convs_spread for m in plans[0][1])
    assert [m.convs_folded for m in plans[0][1]] == [m.convs_folded for m in plans[THIN][1]]
    assert spread.shape == as_read.shape == (604, 1000, 3)
    assert psnr(spread, as_read) >= 60, f"{psnr(spread, as_read):.1f} dB"
