"""What people ask style-transfer demos for: keep my colours, mix two artworks, one artwork for the
person and another behind, a webcam that doesn't flicker — on the real models and photos."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from stylize import InputError, StylizeError, StylizeOptions
from stylize.flicker import flicker_figures, shifting_clip, still_clip
from stylize.imaging import decode_image, psnr
from stylize.stream import VideoStream
from stylize.styles import Style
from stylize.webcam import WEBCAM_OPTIONS, LiveStylizer, frame_pixels


def ycbcr(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).convert("YCbCr"), dtype=np.float64)


@pytest.mark.parametrize("photo", ["boy.jpg", "yoga_balcony.jpg", "man_in_suit.jpg"])
def test_keep_colors_takes_the_photos_chroma_and_the_paintings_light(stylizer, photo_bytes, photo):
    options = StylizeOptions(mask="background", keep_colors=True)
    kept = stylizer.stylize(photo_bytes(photo), "style19", options)
    plain = stylizer.stylize(photo_bytes(photo), "style19", StylizeOptions(mask="background"))
    painted = kept.keep_weight == 0.0  # the region that is painted, not kept
    assert painted.mean() > 0.2
    result, original, colourful = ycbcr(kept.image)[painted], ycbcr(kept.original)[painted], ycbcr(plain.image)[painted]
    for channel, name in ((1, "Cb"), (2, "Cr")):
        assert np.abs(result[:, channel] - original[:, channel]).mean() <= 2.0, f"{name} is the photo's"
        assert np.abs(colourful[:, channel] - original[:, channel]).mean() > 4.0, f"without keep_colors the {name} is the artwork's"
    assert np.abs(result[:, 0] - original[:, 0]).mean() >= 8.0, "the luminance is painted"
    assert np.array_equal(kept.image[kept.keep_weight == 1.0], kept.original[kept.keep_weight == 1.0]), "the person is untouched"


def test_mix_ends_are_the_single_styles_exactly(stylizer, photo_bytes):
    photo = photo_bytes("boy.jpg")
    first = stylizer.stylize(photo, "style19", StylizeOptions(mask="full"))
    second = stylizer.stylize(photo, "style5", StylizeOptions(mask="full"))
    at_0 = stylizer.stylize(photo, "style19", StylizeOptions(mask="full", mix_with="style5", mix=0.0))
    at_1 = stylizer.stylize(photo, "style19", StylizeOptions(mask="full", mix_with="style5", mix=1.0))
    half = stylizer.stylize(photo, "style19", StylizeOptions(mask="full", mix_with="style5", mix=0.5))
    assert np.array_equal(at_0.image, first.image) and at_0.style == first.style
    assert np.array_equal(at_1.image, second.image) and at_1.style == second.style
    assert psnr(half.image, first.image) < 25 and psnr(half.image, second.image) < 25
    assert half.style == "Starry Night 50 % + Kandinsky Composition 50 %"
    own = Style.from_bytes(photo_bytes("yoga_balcony.jpg"), name="mine", title="my photo as a style")
    with_own = stylizer.stylize(photo, "style19", StylizeOptions(mask="full", mix_with=own, mix=0.3))
    assert with_own.style == "Starry Night 70 % + my photo as a style 30 %"


def test_person_style_paints_person_and_background_in_two_artworks(stylizer, photo_bytes):
    photo = photo_bytes("man_in_suit.jpg")
    split = stylizer.stylize(photo, "style19", StylizeOptions(mask="background", person_style="style5"))
    person_whole = stylizer.stylize(photo, "style5", StylizeOptions(mask="full"))
    background_whole = stylizer.stylize(photo, "style19", StylizeOptions(mask="full"))
    weight = stylizer.stylize(photo, "style19", StylizeOptions(mask="background")).keep_weight  # the person, feathered
    person, background = weight == 1.0, weight == 0.0
    assert person.mean() > 0.1 and background.mean() > 0.1
    assert np.array_equal(split.image[person], person_whole.image[person])
    assert np.array_equal(split.image[background], background_whole.image[background])
    assert split.timings_ms["transfer (person's style)"] > 0, "the second transfer is timed on its own"
    foreground = stylizer.stylize(photo, "style19", StylizeOptions(mask="foreground", person_style="style5"))
    assert np.array_equal(foreground.image, split.image), "with a person's style both mask modes paint both regions"


@pytest.mark.parametrize(
    "options, message",
    [
        ({"mix": 1.5}, "mix"),
        ({"mix": "half"}, "mix"),
        ({"mix_with": 5}, "style to mix in"),
        ({"person_style": ["style1"]}, "person's style"),
        ({"person_style": "style5", "mask": "full"}, "needs the person found"),
        ({"keep_colors": "yes"}, "True or False"),
    ],
)
def test_bad_creative_options_are_refused_when_made(options, message):
    with pytest.raises(InputError, match=message) as err:
        StylizeOptions(**options)
    assert str(err.value).endswith(".") and "\n" not in str(err.value)


@pytest.mark.parametrize("options", [{"mix_with": "Mona Lisa"}, {"person_style": "Mona Lisa"}])
def test_unknown_second_styles_are_refused_before_any_work(stylizer, options):
    with pytest.raises(StylizeError, match="no style called 'Mona Lisa'"):
        stylizer.stylize(b"not even decoded", "style1", StylizeOptions(**options))


def test_steady_webcam_is_still_on_a_still_picture_and_follows_a_moving_one(stylizer, shared):
    photo = decode_image((shared / "photos" / "boy.jpg").read_bytes())
    figures = flicker_figures(stylizer, photo, "style19", WEBCAM_OPTIONS, frames=20)  # what bench prints, on a short clip
    assert figures.flicker_raw > 3.0, "the unsteadied painting does flicker on camera noise"
    assert figures.flicker_steady <= figures.flicker_raw / 3
    assert figures.ghost_db >= 30.0


def test_steadiness_off_is_the_plain_painting_and_a_new_style_shows_at_once(stylizer, shared):
    photo = decode_image((shared / "photos" / "boy.jpg").read_bytes())
    frames = [frame_pixels(f, WEBCAM_OPTIONS.max_side) for f in still_clip(photo, 6)]
    off = LiveStylizer(stylizer, "style19", WEBCAM_OPTIONS, steadiness=0.0)
    plain = VideoStream(0.0)  # the same stream memory (faces looked for in one frame of a few), no steadying
    assert all(np.array_equal(off.paint_newest(f), stylizer.stylize_for_video(f, "style19", WEBCAM_OPTIONS, plain).image) for f in frames[:4])
    steady = LiveStylizer(stylizer, "style19", WEBCAM_OPTIONS, steadiness=0.9)
    for f in frames[:5]:
        steady.paint_newest(f)
    steady.configure("style5", WEBCAM_OPTIONS)
    assert np.array_equal(steady.paint_newest(frames[5]), stylizer.stylize_for_video(frames[5], "style5", WEBCAM_OPTIONS, VideoStream(0.0)).image), "no blend with the old style"
    moving = [frame_pixels(f, WEBCAM_OPTIONS.max_side) for f in shifting_clip(photo, 3, step=40)]
    for f in moving[:2]:
        steady.paint_newest(f)
    assert psnr(steady.paint_newest(moving[2]), stylizer.stylize_for_video(moving[2], "style5", WEBCAM_OPTIONS, VideoStream(0.0)).image) > 40, "a picture that moved everywhere is painted afresh"
    with pytest.raises(InputError, match="Steadiness"):
        LiveStylizer(stylizer, "style19", WEBCAM_OPTIONS, steadiness=1.0)


def test_creative_options_apply_to_webcam_frames(stylizer, shared):
    photo = decode_image((shared / "photos" / "boy.jpg").read_bytes())
    frame = frame_pixels(next(still_clip(photo, 1)), WEBCAM_OPTIONS.max_side)
    options = StylizeOptions(max_side=384, segmenter="segm-lite", mask="background", keep_colors=True, mix_with="style5", mix=0.5)
    live = LiveStylizer(stylizer, "style19", options, steadiness=0.0)
    assert np.array_equal(live.paint_newest(frame), stylizer.stylize_for_video(frame, "style19", options, VideoStream(0.0)).image)
    assert live.stats().error is None


def test_a_video_stream_looks_for_faces_in_one_frame_of_a_few(stylizer, shared):
    """The face detector runs on the first frame, then once every FACES_EVERY frames, and afresh
    when the frame size changes or the stream is reset; in between, the faces last found stand —
    and a face found there is kept whole in the painted frames that reuse it."""
    from stylize.faces import face_mask
    from stylize.stream import FACES_EVERY

    stream = VideoStream(0.0)
    calls = []

    def find():
        calls.append(len(calls))
        return []

    for _ in range(2 * FACES_EVERY):
        stream.faces((384, 288), find)
    assert len(calls) == 2
    stream.faces((288, 384), find)
    assert len(calls) == 3, "a new frame size is searched at once"
    stream.reset()
    stream.faces((288, 384), find)
    assert len(calls) == 4, "a reset stream is searched at once"

    photo = decode_image((shared / "photos" / "boy.jpg").read_bytes())
    frames = [frame_pixels(f, WEBCAM_OPTIONS.max_side) for f in still_clip(photo, FACES_EVERY)]
    live = LiveStylizer(stylizer, "style19", WEBCAM_OPTIONS, steadiness=0.0)
    first = stylizer.stylize_for_video(frames[0], "style19", WEBCAM_OPTIONS, VideoStream(0.0))
    assert first.faces, "the boy's face is found"
    for f in frames:
        painted = live.paint_newest(f)
        whole = face_mask(first.faces, f.shape[1], f.shape[0])
        assert np.abs(painted[whole].astype(int) - f[whole].astype(int)).mean() < 1.0, "the face is kept, in frames that reuse it too"
