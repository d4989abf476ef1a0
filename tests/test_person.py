"""The person, found well: MediaPipe's selfie segmenters on both runtimes (their custom operator
rewritten for OpenVINO), mask edges refined by the photo, and every face kept — on the real models
and on pictures made from the sample photos (stylize/mask_quality.py)."""

from __future__ import annotations

import numpy as np
import pytest

from stylize import StylizeOptions
from stylize.engine import make_engine
from stylize.engine.custom_ops import builtin_transpose_conv, has_custom_transpose_conv
from stylize.faces import face_mask
from stylize.imaging import decode_image
from stylize.mask_quality import faces_kept, group, wall_band, wall_portrait


def psnr_unit(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


@pytest.fixture(scope="module")
def photos(shared):
    return {p.stem: decode_image(p.read_bytes()) for p in (shared / "photos").glob("*.jpg")}


@pytest.mark.parametrize("name", ["selfie_segmentation.tflite", "selfie_segmentation_landscape.tflite"])
def test_selfie_models_rewritten_for_openvino_agree_with_litert(shared, stylizer, photos, name):
    data = (shared / "models" / name).read_bytes()
    assert has_custom_transpose_conv(data) and not has_custom_transpose_conv(builtin_transpose_conv(data))
    litert, openvino = make_engine("litert", 2).load(shared / "models" / name), make_engine("openvino", 2).load(shared / "models" / name)
    shape = litert.inputs[0].shape
    from PIL import Image

    for photo in photos.values():
        pixels = np.asarray(Image.fromarray(photo).resize((shape[2], shape[1])), dtype=np.float32)[None] / 255.0
        a = litert.run({litert.inputs[0].name: pixels})[0]
        b = openvino.run({openvino.inputs[0].name: pixels})[0]
        assert a.shape == b.shape == (1, shape[1], shape[2], 1)
        assert psnr_unit(a, b) >= 40.0, "OpenVINO's build of the rewritten file computes LiteRT's mask"
        assert 0.05 < a.mean() < 0.9, "a person is found"


def test_rewritten_file_computes_the_original_on_litert(shared, photos):
    from ai_edge_litert.interpreter import Interpreter

    data = (shared / "models" / "selfie_segmentation.tflite").read_bytes()
    pixels = np.asarray(photos["boy"][:256, :256], dtype=np.float32)[None] / 255.0
    outputs = []
    for model in (data, builtin_transpose_conv(data)):
        interpreter = Interpreter(model_content=model, num_threads=2)
        interpreter.allocate_tensors()
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], pixels)
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).copy())
    assert np.array_equal(*outputs), "TRANSPOSE_CONV with a bias input is the custom operator, bit for bit"


@pytest.mark.parametrize("engine", ["openvino", "litert"])
def test_wall_portrait_keeps_the_face_and_leaves_no_wall(stylizer, photos, engine):
    picture = wall_portrait(photos["man_in_suit"])
    result = stylizer.stylize(picture.rgb, "style19", StylizeOptions(mask="background", runtime=engine))
    assert len(result.faces) == 1
    assert min(faces_kept(result.keep_weight, result.faces)) >= 0.97
    assert wall_band(result.keep_weight, picture.truth) < 0.05, "no band of the old wall along the hair and shoulders"
    unrefined, _ = stylizer.person_mask(picture.rgb, StylizeOptions(segmenter="deeplabv3", keep_faces=False))
    assert wall_band(unrefined, picture.truth) > 5 * max(wall_band(result.keep_weight, picture.truth), 0.01), "the old default left a band"


def test_group_keeps_every_face_in_background_mode_and_paints_none_in_person_mode(stylizer, photos):
    picture = group([photos["man_in_suit"], photos["boy"], photos["yoga_balcony"]])
    background = stylizer.stylize(picture.rgb, "style19", StylizeOptions(mask="background"))
    assert len(background.faces) == 3, "three people, three faces"
    assert min(faces_kept(background.keep_weight, background.faces)) >= 0.97
    alone, _ = stylizer.person_mask(picture.rgb, StylizeOptions(keep_faces=False))
    assert min(faces_kept(alone.astype(np.float32), background.faces)) < 0.5, "the segmenter alone misses a face: the detector is what keeps it"
    person_only = stylizer.stylize(picture.rgb, "style19", StylizeOptions(mask="foreground"))
    faces = face_mask(person_only.faces, person_only.image.shape[1], person_only.image.shape[0])
    assert np.array_equal(person_only.image[faces], person_only.original[faces]), "person-only mode paints nothing inside a face"
    painted_faces = stylizer.stylize(picture.rgb, "style19", StylizeOptions(mask="foreground", keep_faces=False))
    assert not np.array_equal(painted_faces.image[faces], painted_faces.original[faces]), "…unless asked to"


@pytest.mark.parametrize("size", [(517, 606), (1001, 333), (2500, 1700)])
def test_refined_mask_is_exactly_the_photos_size(stylizer, photos, size):
    from PIL import Image

    rgb = np.asarray(Image.fromarray(photos["yoga_balcony"]).resize(size))
    person, _ = stylizer.person_mask(rgb, StylizeOptions())
    assert person.shape == (size[1], size[0]) and person.dtype == bool and 0.05 < person.mean() < 0.6
    result = stylizer.stylize(rgb, "style19", StylizeOptions(max_side=None))
    assert result.image.shape == (size[1], size[0], 3)


@pytest.mark.parametrize("style", ["style5", "style17"])
def test_nobody_in_the_picture_is_painted_whole_or_not_at_all(stylizer, style):
    scene = stylizer.style(style).pixels  # a painting with nobody in it
    background = stylizer.stylize(scene, "style19", StylizeOptions(mask="background"))
    whole = stylizer.stylize(scene, "style19", StylizeOptions(mask="full"))
    assert background.faces == [] and np.array_equal(background.image, whole.image), "background mode paints everything"
    person_only = stylizer.stylize(scene, "style19", StylizeOptions(mask="foreground"))
    assert np.array_equal(person_only.image, scene), "person-only mode paints nothing"


def test_faces_found_on_every_sample_photo_on_both_runtimes(stylizer, photos):
    for engine in ("openvino", "litert"):
        for name, photo in photos.items():
            faces = stylizer.face_detector("face-full", engine).detect(photo)
            assert len(faces) == 1, (engine, name, faces)
            person, _ = stylizer.person_mask(photo, StylizeOptions(keep_faces=False))
            centre = person[int((faces[0].top + faces[0].bottom) / 2), int((faces[0].left + faces[0].right) / 2)]
            assert centre, f"the face found in {name} lies on the person"
