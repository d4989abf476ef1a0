"""Pixels in and out: safe decoding, letterboxing to a model's square input and back, compositing.

Images travel as ``uint8`` RGB arrays of shape (height, width, 3); masks as ``float32`` (height,
width) in [0, 1]. The models take squares, the user's photo rarely is one: ``letterbox`` scales
the whole photo into the square and fills the rest by mirroring its edges (so the network sees no
hard border), and ``unletterbox`` cuts the photo's region back out. Nothing of the photo is
cropped away.
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from PIL import Image, ImageCms, ImageFilter, ImageOps, JpegImagePlugin, UnidentifiedImageError

from .errors import InputError

T = TypeVar("T")

FORMATS = ("JPEG", "PNG", "WEBP")  # phone "MPO" JPEGs open as JPEG
MAX_DECODED_BYTES = 160 * 2**20  # one image, decoded (at least its RGB form): a 48 MP photo fits
WIDE_BANDS = {"I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2, "I": 4, "F": 4}  # bytes per band; others 1
OTHER_FORMATS = {  # magic bytes of formats people try, so the refusal can name them
    b"GIF8": "a GIF",
    b"BM": "a BMP",
    b"II*\x00": "a TIFF",
    b"MM\x00*": "a TIFF",
    b"%PDF": "a PDF",
    b"<svg": "an SVG",
    b"<?xm": "an SVG or XML file",
}
SRGB = ImageCms.createProfile("sRGB")


@dataclass(frozen=True)
class Box:
    """Where the photo sits inside a letterboxed square of ``side`` pixels."""

    left: int
    top: int
    width: int
    height: int
    side: int


def decoded_bytes(mode: str, width: int, height: int) -> int:
    """Memory an image of this mode and size takes once decoded (at least its RGB form)."""
    per_pixel = Image.getmodebands(mode) * WIDE_BANDS.get(mode, 1) if mode in Image.MODES or mode in WIDE_BANDS else 4
    return width * height * max(per_pixel, 3)


def decode_image(data: bytes, what: str = "The photo", max_bytes: int = MAX_DECODED_BYTES, fit: int | None = None) -> np.ndarray:
    """RGB ``uint8`` sRGB pixels of a JPEG, PNG or WEBP file, upright as its EXIF orientation
    says. Its size is checked from the header before any pixel is decoded.

    ``fit``: the longest side the caller will scale the pixels to. A JPEG is then decoded at the
    smallest of a half, a quarter or an eighth of its size that still holds that many pixels
    (libjpeg's scaled decoding, ``Image.draft``): a 12 MP photo for a 1024 px result decodes to
    2000×1500 in half the time and a quarter of the memory, and the caller's scaling from there
    gives a picture 47–50 dB from the one scaled from the whole decode (``decode_size`` says the
    size, from the header)."""
    return _decoded(data, what, max_bytes, fit)[0]


def _decoded(data: bytes, what: str, max_bytes: int, fit: int | None) -> tuple[np.ndarray, tuple[int, int]]:
    """``decode_image``'s pixels, and the photo's own (width, height) upright: what they would be
    decoded at full scale."""
    if not data:
        raise InputError(f"{what} is an empty file; choose a JPEG, PNG or WEBP image.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
            need = decoded_bytes(image.mode, image.width, image.height)
            if need > max_bytes:
                raise InputError(
                    f"{what} is too large ({image.width}×{image.height}, {need / 2**20:.0f} MB when decoded); the limit is {max_bytes / 2**20:.0f} MB, so scale it down and try again."
                )
            full = image.size
            _draft(image, fit)
            image.load()
            drafted = image.size
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        pixels = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(pixels.group(1)) / 1e6:.0f} megapixels, " if pixels else ""
        raise InputError(f"{what} is too large ({size}far more than {max_bytes / 2**20:.0f} MB when decoded); scale it down and try again.") from exc
    except UnidentifiedImageError as exc:
        if data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
            raise InputError(f"{what} is damaged or cut short and could not be decoded; try another file.") from exc
        kind = next((name for magic, name in OTHER_FORMATS.items() if data.startswith(magic)), None)
        if kind is None and data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypavif"):
            kind = "a HEIC/AVIF"
        if kind:
            raise InputError(f"{what} is {kind} file, which is not supported; choose a JPEG, PNG or WEBP image.") from exc
        raise InputError(f"{what} is not an image we can read; choose a JPEG, PNG or WEBP file.") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputError(f"{what} is damaged or cut short and could not be decoded; try another file.") from exc
    with contextlib.suppress(OSError, ValueError, SyntaxError, TypeError, KeyError):  # a broken EXIF block: keep the pixels as stored
        ImageOps.exif_transpose(image, in_place=True)  # not a copy: a 40 MP photo's is 160 MB
    if image.size != drafted:  # turned a quarter by its EXIF orientation
        full = full[::-1]
    return to_rgb(image), full


def _draft(image: Image.Image, fit: int | None) -> None:
    """Let a JPEG decode at a reduced scale that still holds ``fit`` pixels on its longer side."""
    if fit is not None and isinstance(image, JpegImagePlugin.JpegImageFile):  # a phone's MPO too
        image.draft(None, output_size(image.width, image.height, fit))


def decode_size(data: bytes, fit: int | None = None) -> tuple[int, int]:
    """(width, height) that ``decode_image(data, fit=fit)`` decodes the file at (before EXIF
    turns it), read from its header: what the decoding costs, for the page's time estimates."""

    def drafted(image: Image.Image) -> tuple[int, int]:
        _draft(image, fit)
        return image.size

    return _from_header(data, "The photo", drafted)


def image_size(data: bytes, what: str = "The photo") -> tuple[int, int]:
    """(width, height) of an image file as it will be shown (EXIF orientation applied), read
    from its header only; the same one-sentence errors as ``decode_image``."""

    def upright(image: Image.Image) -> tuple[int, int]:
        width, height = image.size
        with contextlib.suppress(Exception):
            if image.getexif().get(0x0112) in (5, 6, 7, 8):
                width, height = height, width
        return width, height

    return _from_header(data, what, upright)


def _from_header(data: bytes, what: str, read: Callable[[Image.Image], T]) -> T:
    """``read`` of the image file opened with only its header read; any failure is raised as
    ``decode_image`` names it (one sentence)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return read(Image.open(io.BytesIO(data), formats=FORMATS))
    except Exception:  # noqa: BLE001 - any failure: decode_image names it precisely
        decode_image(data, what)
        raise


def to_rgb(image: Image.Image) -> np.ndarray:
    """sRGB pixels of any PIL image: an embedded colour profile is converted to sRGB, 16-bit and
    32-bit grey scaled to 8 bits (not clipped), transparent areas become white."""
    image = _to_srgb(image)
    if image.mode in WIDE_BANDS:
        values = np.asarray(image)
        if image.mode == "F":  # float grey uses the 0–255 scale, like Pillow's own conversions
            grey = np.clip(np.rint(np.nan_to_num(values.astype(np.float64))), 0, 255)
        else:  # 16-bit grey, and 32-bit "I" holding 16-bit samples (PNG)
            grey = (np.clip(values.astype(np.int64), 0, 65535) * 255 + 32767) // 65535
        image = Image.fromarray(grey.astype(np.uint8), mode="L")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    if image.mode != "RGB":  # converting to its own mode would copy it
        image = image.convert("RGB")
    return _pixels(image)


def _band_rows(width: int, band_pixels: int) -> int:
    """Rows of a ``width``-pixel picture in a band of about ``band_pixels``."""
    return max(1, band_pixels // max(width, 1))


def _pixels(image: Image.Image, band_pixels: int = 1 << 20) -> np.ndarray:
    """An RGB image's pixels, copied out a band of rows at a time: ``np.asarray`` would first
    join the whole picture's bytes, then copy them (a 40 MP photo: 240 MB on top of its own)."""
    width, height = image.size
    out = np.empty((height, width, 3), dtype=np.uint8)
    rows = _band_rows(width, band_pixels)
    for top in range(0, height, rows):
        band = image.crop((0, top, width, min(height, top + rows)))
        out[top : top + band.height] = np.asarray(band)
    return out


def _to_srgb(image: Image.Image) -> Image.Image:
    """The image converted from its embedded ICC profile to sRGB (as it is when it has none, or
    one that cannot be read)."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if source.profile.xcolor_space.strip() != {"RGB": "RGB", "RGBA": "RGB", "CMYK": "CMYK", "L": "GRAY"}[image.mode]:
            return image
        out_mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(image, source, SRGB, outputMode=out_mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image
    converted.info.pop("icc_profile", None)
    return converted


def resize(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    if rgb.shape[1] == width and rgb.shape[0] == height:
        return rgb
    return np.asarray(Image.fromarray(rgb).resize((width, height), Image.Resampling.BILINEAR))


def shrink(rgb: np.ndarray, max_side: int) -> np.ndarray:
    """A quick smaller copy (longer side at most ``max_side``) for a model that looks at the whole
    picture at a fraction of its size: first reduced by a whole factor with a box filter, then
    scaled bilinearly the rest of the way — several times faster than one bilinear pass over a
    12 MP photo."""
    width, height = output_size(rgb.shape[1], rgb.shape[0], max_side)
    if (width, height) == (rgb.shape[1], rgb.shape[0]):
        return rgb
    image = Image.fromarray(rgb)
    factor = max(1, min(rgb.shape[1] // width, rgb.shape[0] // height))
    if factor > 1:
        image = image.reduce(factor)
    return np.asarray(image.resize((width, height), Image.Resampling.BILINEAR))


def output_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """(width, height) scaled down (never up) so that the longer side is at most ``max_side``
    (None: unchanged)."""
    scale = 1.0 if max_side is None else min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def fit_within(rgb: np.ndarray, max_side: int) -> np.ndarray:
    """The image scaled down (never up) so that its longer side is at most ``max_side``."""
    return resize(rgb, *output_size(rgb.shape[1], rgb.shape[0], max_side))


def pad_to_multiple(rgb: np.ndarray, multiple: int) -> np.ndarray:
    """The image with its bottom and right edges mirrored out to a multiple of ``multiple``
    pixels (a network that halves and doubles sizes needs that); crop the result back."""
    height, width = rgb.shape[:2]
    pad_h, pad_w = -height % multiple, -width % multiple
    if not pad_h and not pad_w:
        return rgb
    return np.pad(rgb, ((0, pad_h), (0, pad_w), (0, 0)), mode="symmetric")


def center_square(rgb: np.ndarray, side: int) -> np.ndarray:
    """A centre crop resized to ``side``×``side`` (for style images, whose framing doesn't matter)."""
    height, width = rgb.shape[:2]
    short = min(height, width)
    top, left = (height - short) // 2, (width - short) // 2
    return resize(rgb[top : top + short, left : left + short], side, side)


def letterbox(rgb: np.ndarray, side: int, height: int | None = None) -> tuple[np.ndarray, Box]:
    """The whole image scaled into a ``side`` square (or a ``side`` × ``height`` rectangle), the
    rest mirrored; with where it sits."""
    out_w, out_h = side, height or side
    rows, cols = rgb.shape[:2]
    scale = min(out_w / cols, out_h / rows)
    new_w, new_h = min(out_w, max(1, round(cols * scale))), min(out_h, max(1, round(rows * scale)))
    scaled = resize(rgb, new_w, new_h)
    left, top = (out_w - new_w) // 2, (out_h - new_h) // 2
    padded = np.pad(scaled, ((top, out_h - new_h - top), (left, out_w - new_w - left), (0, 0)), mode="symmetric")
    return padded, Box(left, top, new_w, new_h, max(out_w, out_h))


def unletterbox(square: np.ndarray, box: Box, width: int, height: int) -> np.ndarray:
    """The photo's region of a letterboxed square, resized to ``width``×``height``."""
    region = square[box.top : box.top + box.height, box.left : box.left + box.width]
    if region.dtype == np.uint8:
        return resize(region, width, height)
    return resize_plane(region, width, height)


def resize_plane(plane: np.ndarray, width: int, height: int) -> np.ndarray:
    """A float plane (a mask, a probability, filter coefficients) scaled bilinearly to
    ``width``×``height`` (by Pillow, in ``F`` mode): a new, writable ``float32`` array."""
    if plane.shape == (height, width):
        return plane.astype(np.float32)
    image = Image.fromarray(np.ascontiguousarray(plane, dtype=np.float32), mode="F")
    return np.array(image.resize((max(1, width), max(1, height)), Image.Resampling.BILINEAR), dtype=np.float32)


def to_unit_float(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) / 255.0


def from_unit_float(values: np.ndarray) -> np.ndarray:
    kind = np.promote_types(np.asarray(values).dtype, np.float32)
    scaled = np.multiply(values, kind.type(255.0), dtype=kind)  # one temporary, not three: a 40 MP mask is 160 MB of float
    scaled += kind.type(0.5)
    np.clip(scaled, 0, 255, out=scaled)
    return scaled.astype(np.uint8)


def feather(mask: np.ndarray, radius: float) -> np.ndarray:
    """A hard 0/1 mask with a soft edge about ``radius`` pixels wide that lies wholly *inside*
    the mask: 0 on and outside its border, rising to 1 within about two radii. Blurring across the
    border instead would let the kept region bleed out — a halo of, say, a white wall around a
    person whose background is painted."""
    if radius <= 0:
        return mask.astype(np.float32)
    image = Image.fromarray(mask.astype(np.uint8, copy=False) * np.uint8(255), mode="L")
    inside = image.filter(ImageFilter.GaussianBlur(radius)).point(_INSIDE)  # 2·blurred − 1, on 0–255
    del image
    weight = np.asarray(inside, dtype=np.float32)
    weight *= np.float32(1.0 / 255.0)  # in place: a 40 MP weight is 160 MB
    return weight


_INSIDE = [min(255, max(0, 2 * level - 255)) for level in range(256)]  # the blur's upper half, stretched to 0–255


def composite(keep: np.ndarray, painted: np.ndarray, keep_weight: np.ndarray, band_pixels: int = 1 << 20) -> np.ndarray:
    """``keep`` where the weight is 1, ``painted`` where it is 0, blended in between (in 1/255
    steps, by Pillow, so a 12-megapixel composite needs no float copies of the pictures), a band
    of rows at a time: whole, Pillow's copies of the two pictures, its result and NumPy's copy of
    that were four more pictures' worth (a 40 MP photo: 0.5 GB)."""
    height, width = painted.shape[:2]
    out = np.empty_like(painted)
    rows = _band_rows(width, band_pixels)
    for top in range(0, height, rows):
        band = slice(top, top + rows)
        mask = Image.fromarray(from_unit_float(keep_weight[band]), mode="L")
        out[band] = np.asarray(Image.composite(Image.fromarray(keep[band]), Image.fromarray(painted[band]), mask))
    return out


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio of two ``uint8`` images in dB (``inf`` when identical)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def psnr_of_errors(pairs: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """One PSNR (dB) over many pairs of ``uint8`` images of the same size: of their pooled mean
    squared error, so a few bad frames are not averaged away in decibels."""
    mse = float(np.mean([np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2) for a, b in pairs]))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def jpeg_bytes(rgb: np.ndarray, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def png_bytes(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def photo_pixels(content: bytes | np.ndarray, max_side: int | None) -> np.ndarray:
    """RGB pixels of a photo (file bytes or an RGB frame), scaled down to ``max_side`` (None:
    kept at its own size)."""
    if isinstance(content, bytes | bytearray | memoryview):
        # a JPEG decodes at a reduced scale (``fit``); the result's size still comes from the
        # photo's own, so that it is the size the page and the plan read from the header
        content, full = _decoded(bytes(content), "The photo", MAX_DECODED_BYTES, max_side)
        return content if max_side is None else resize(content, *output_size(*full, max_side))
    elif not isinstance(content, np.ndarray):
        raise InputError(f"The photo is a {type(content).__name__}; pass the file's bytes or height × width × 3 uint8 RGB pixels.")
    elif content.ndim != 3 or content.shape[2] != 3 or content.dtype != np.uint8:
        raise InputError(f"The frame has shape {content.shape} and type {content.dtype}; pass height × width × 3 uint8 RGB pixels.")
    return content if max_side is None else fit_within(content, max_side)
