"""The person in a picture: the segmenter's mask, every face a face detector finds, and the
feathered weights of what is kept and what is painted.

A face is a person's, so its region joins the segmenter's answer before the edge is refined by
the guided filter (``refine.py``), and faces stay whole after the feathering: the soft edge lies
inside what is kept, which would otherwise fade a small face.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .faces import Face, FaceDetector, face_mask
from .imaging import feather, shrink
from .refine import refined_probability
from .segment import Segmenter
from .stream import VideoStream

MASK_SIDE = 2048  # a photo is masked at most at this size


def person_mask(rgb: np.ndarray, segmenter: Segmenter, detector: FaceDetector | None, stream: VideoStream | None = None) -> tuple[np.ndarray, list[Face]]:
    """Where the person is in ``rgb`` (boolean, its height × width), with every face ``detector``
    finds added (None: faces are not looked for), and the faces found. A video frame (of
    ``stream``) is searched in one pass, when the stream says it is time to look again; a photo in
    tiles, for the small faces of a group. A photo larger than ``MASK_SIDE`` is masked at that
    size (the network paints at most at it too) and the mask scaled up."""
    fine = shrink(rgb, MASK_SIDE)
    found: list[Face] = []
    if detector is not None:
        if stream is None:
            found = detector.detect(fine)
        else:
            found = stream.faces((fine.shape[1], fine.shape[0]), lambda: detector.detect(fine, tiles=False))
    probability = segmenter.model_probability(fine, found)  # a person the whole picture hides is looked for around their face
    faces: list[Face] = []
    if found:
        # a face is a person's: its region joins the model's answer before the edge is refined,
        # so the face's own outline bounds what is kept
        low_h, low_w = probability.shape
        faces_low = face_mask([f.scaled(low_w / fine.shape[1]) for f in found], low_w, low_h)
        probability = np.maximum(probability, faces_low.astype(np.float32))
        faces = [f.scaled(rgb.shape[1] / fine.shape[1]) for f in found]
    person = refined_probability(probability, fine) > 0.5
    if found:  # a face too small for the refinement's windows is kept whole all the same
        person |= face_mask(found, fine.shape[1], fine.shape[0])
    if fine is not rgb:
        person = np.asarray(Image.fromarray(person).resize((rgb.shape[1], rgb.shape[0]), Image.Resampling.NEAREST))
    return person, faces


def keep_weights(person: np.ndarray, faces: list[Face], options, person_styled: bool) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(keep, person_weight): how much of the photo each pixel keeps in ``options.mask`` mode, or
    — with a person's style — how much of the person's painting; with the feathered edge
    (``options.feather``) and every face whole."""
    height, width = person.shape
    radius = options.feather if options.feather is not None else 0.006 * max(height, width)
    faces_whole = face_mask(faces, width, height) if faces else None
    if person_styled:  # the person gets its own painting; nothing of the photo is kept
        return None, _with_faces(feather(person, radius), faces_whole)
    if options.mask == "background":
        return _with_faces(feather(person, radius), faces_whole), None
    # person only: the person painted, the background — and every face — kept
    painted_part = person & ~faces_whole if faces_whole is not None else person
    return _with_faces(feather(~painted_part, radius), faces_whole), None


def _with_faces(weight: np.ndarray, faces: np.ndarray | None) -> np.ndarray:
    if faces is not None:
        weight[faces] = 1.0  # in place (the weight is this call's own): no float copy of the face mask
    return weight
