"""Images in, images out, safely: the one place that decodes and encodes for the CLI, API and app.

Everything inside the engine works on :class:`Picture`: float32 RGB in [0, 1] plus what is needed
to give the user back an image of the same kind (grayscale stays grayscale, alpha is kept,
16-bit stays 16-bit). Decoding applies EXIF orientation and refuses decompression bombs before
any pixel is decoded; encoding writes pixels only (no EXIF, GPS or other metadata).
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePath
from typing import TypeVar, Union

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError, InputNotFoundError, OptionsError, first_line

DEFAULT_MAX_PIXELS = 100_000_000  # refuse to decode more than this (a 10000x10000 photo)
MAX_FILE_BYTES = 512 * 1024 * 1024  # far above any photo file (a 100 MP JPEG is about 30 MB)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
ImageLike = Union[str, os.PathLike, bytes, np.ndarray, Image.Image, "Picture"]

# Pillow's own guard warns at MAX_IMAGE_PIXELS and raises at twice that; we check sizes ourselves
# (with a clear message) before decoding, so keep Pillow's as a backstop only.
Image.MAX_IMAGE_PIXELS = DEFAULT_MAX_PIXELS


@dataclass(frozen=True)
class Picture:
    """An image as the engine sees it.

    rgb: float32 (H, W, 3) in [0, 1]. alpha: float32 (H, W) in [0, 1] or None.
    grayscale: the source had one colour channel; outputs are converted back.
    bit_depth: 8 or 16, the depth outputs are written at.
    source_size: (width, height) of the file when it was decoded at a reduced size, else None.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    grayscale: bool = False
    bit_depth: int = 8
    source_size: tuple[int, int] | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.rgb.shape[1], self.rgb.shape[0]

    def with_pixels(self, rgb: np.ndarray, alpha: np.ndarray | None) -> Picture:
        return replace(self, rgb=np.ascontiguousarray(rgb, dtype=np.float32), alpha=alpha)

    def to_array(self) -> np.ndarray:
        """uint8 or uint16 array: (H, W) gray, (H, W, 2) gray+alpha, (H, W, 3) RGB or (H, W, 4) RGBA."""
        rgb = np.clip(self.rgb, 0.0, 1.0)
        colour = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[:, :, None] if self.grayscale else rgb
        if self.alpha is not None:
            colour = np.concatenate([colour, np.clip(self.alpha, 0.0, 1.0)[:, :, None]], axis=2)
        if colour.shape[2] == 1:
            colour = colour[:, :, 0]
        scale, dtype = (65535.0, np.uint16) if self.bit_depth == 16 else (255.0, np.uint8)
        return np.round(colour * scale).astype(dtype)


def output_size(size: tuple[int, int], scale: float) -> tuple[int, int]:
    """(width, height) of an image of ``size`` upscaled by ``scale`` (at least 1 pixel)."""
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise ImageError(f"The image has an empty size ({width}x{height}).")
    if width * height > max_pixels:
        raise ImageError(
            f"The image is {width}x{height} ({width * height / 1e6:.0f} MP), above the limit of "
            f"{max_pixels / 1e6:.0f} MP; downscale it first."
        )


def _from_pil(img: Image.Image, max_pixels: int) -> Picture:
    _check_pixels(img.width, img.height, max_pixels)
    with contextlib.suppress(Exception):  # a broken EXIF block must not cost the image
        img = ImageOps.exif_transpose(img)
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img).astype(np.float32)
        # 16-bit stored as I;16 or I: scale, do not clip (Pillow's RGB conversion clips to white)
        wide = mode.startswith("I;16") or (mode == "I" and arr.max(initial=0) > 255)
        top = 65535.0 if wide else (1.0 if mode == "F" else 255.0)
        gray = np.clip(arr / top, 0, 1)
        return Picture(rgb=np.repeat(gray[:, :, None], 3, axis=2), grayscale=True, bit_depth=16 if wide else 8)
    if mode in ("1", "L", "LA", "La"):
        la = np.asarray(img.convert("LA"), dtype=np.float32) / 255.0
        alpha = la[:, :, 1] if mode in ("LA", "La") else None
        return Picture(rgb=np.repeat(la[:, :, :1], 3, axis=2), alpha=alpha, grayscale=True)
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif mode in ("RGBa", "PA"):
        img = img.convert("RGBA")
    elif mode not in ("RGB", "RGBA"):
        img = img.convert("RGB")  # CMYK, YCbCr, LAB, HSV
    arr = np.asarray(img, dtype=np.float32) / 255.0
    alpha = arr[:, :, 3] if arr.shape[2] == 4 else None
    return Picture(rgb=np.ascontiguousarray(arr[:, :, :3]), alpha=alpha)


def _is_16bit_colour(img: Image.Image, data: bytes) -> bool:
    """16 bits per channel in a colour PNG or TIFF, which Pillow would read as 8-bit."""
    if img.mode not in ("RGB", "RGBA"):
        return False
    if img.format == "PNG":
        return b"IHDR" in data[:32] and len(data) > 24 and data[24] == 16
    if img.format == "TIFF":
        bits = getattr(img, "tag_v2", {}).get(258, ())
        return bool(bits) and set(bits if isinstance(bits, tuple) else (bits,)) == {16}
    return False


def _decode_16bit(data: bytes) -> Picture | None:
    """Pillow reads 16-bit RGB(A) PNGs and TIFFs as 8-bit; OpenCV keeps the depth."""
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.dtype != np.uint16:
        return None
    return picture_from_array(arr[:, :, ::-1] if arr.ndim == 3 else arr, bgr=False)


def _draft_jpeg(img: Image.Image, draft_pixels: int | None) -> None:
    """Let a large JPEG decode at 1/2, 1/4 or 1/8 of its size (DCT scaling: a fraction of the time and
    memory) when that still leaves at least ``draft_pixels``; the caller resizes the rest exactly."""
    w, h = img.size
    if not draft_pixels or img.format != "JPEG" or w * h <= draft_pixels:
        return
    factor = max((k for k in (2, 4, 8) if (w // k) * (h // k) >= draft_pixels), default=1)
    if factor > 1:
        img.draft(img.mode if img.mode in ("RGB", "L") else None, (-(-w // factor), -(-h // factor)))


@contextlib.contextmanager
def _decoding() -> Iterator[None]:
    """Whatever Pillow raises on a file it cannot decode, as one line."""
    try:
        yield
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageError(f"The image is too large to decode safely ({first_line(exc)}).") from exc
    except UnidentifiedImageError as exc:
        raise ImageError("The file is not an image that can be read.") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"The image could not be decoded: {first_line(exc)}.") from exc


def _with_source_size(pic: Picture, img: Image.Image, full_size: tuple[int, int]) -> Picture:
    """``pic`` (decoded from ``img``) remembering the file's own size when it was decoded smaller."""
    if img.size == full_size:
        return pic
    turned = pic.size != img.size  # EXIF orientation swapped width and height
    return replace(pic, source_size=(full_size[1], full_size[0]) if turned else full_size)


def decode(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, draft_pixels: int | None = None) -> Picture:
    """Decode an encoded image (any format Pillow reads) into a :class:`Picture`.

    ``max_pixels`` is checked on the header, before any pixel is decoded; a JPEG above
    ``draft_pixels`` is first reduced by DCT scaling, and the check applies to the reduced size.
    """
    if not data:
        raise ImageError("The file is empty.")
    with _decoding():
        img = Image.open(io.BytesIO(data))
        full_size = img.size
        _draft_jpeg(img, draft_pixels)
        _check_pixels(img.width, img.height, max_pixels)  # header only: nothing decoded yet
        if _is_16bit_colour(img, data):
            pic = _decode_16bit(data)
            if pic is not None:
                return pic
        img.load()
        return _with_source_size(_from_pil(img, max_pixels), img, full_size)
    raise AssertionError("unreachable")  # for type checkers: _decoding re-raises


def read_thumbnail(path: str | os.PathLike, max_pixels: int, side: int) -> Picture:
    """A small copy of an image file, its long side at most ``side``, with the file's size as
    ``source_size``: a look before the work (the page's estimate). A JPEG decodes at reduced scale;
    any other format decodes once at 8 bits and is reduced at once, never held in float at full size
    (a 32 MP PNG: 96 MB for a moment, where a full decode holds 480 MB).

    Raises:
        ImageError: not an image, or above ``max_pixels`` (checked on the header).
    """
    data = read_file(Path(path))
    if not data:
        raise ImageError("The file is empty.")
    with _decoding():
        img: Image.Image = Image.open(io.BytesIO(data))
        full_size = img.size
        _check_pixels(img.width, img.height, max_pixels)
        _draft_jpeg(img, side * side)
        if img.mode not in ("1", "L", "LA", "RGB", "RGBA", "I", "I;16", "F"):
            img = img.convert("RGBA" if "A" in img.getbands() or "transparency" in img.info else "RGB")
        img.thumbnail((side, side), reducing_gap=2.0)
        return _with_source_size(_from_pil(img, max_pixels), img, full_size)
    raise AssertionError("unreachable")


def read_file(path: Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; anything else is refused before reading.

    Devices (``/dev/zero``), FIFOs (which would block forever) and folders are refused on their type;
    the size is checked on the open file and again while reading, for files that lie about it.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ImageError(f"Cannot read {path.name}: {exc.strerror or exc}.") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ImageError(f"{path.name} is not a regular file.")
    with os.fdopen(fd, "rb") as f:
        if info.st_size > max_bytes:
            raise ImageError(
                f"{path.name} is {info.st_size / 1e6:.0f} MB, above the limit of {max_bytes / 1e6:.0f} MB."
            )
        try:
            data = f.read(max_bytes + 1)
        except OSError as exc:
            raise ImageError(f"Cannot read {path.name}: {exc.strerror or exc}.") from None
    if len(data) > max_bytes:
        raise ImageError(f"{path.name} is larger than the limit of {max_bytes / 1e6:.0f} MB.")
    return data


def read_image(
    path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS, draft_pixels: int | None = None
) -> Picture:
    """Decode an image file (regular files only, at most :data:`MAX_FILE_BYTES`); see :func:`decode`."""
    path = Path(path)
    data = read_file(path)
    try:
        return decode(data, max_pixels, draft_pixels)
    except ImageError as exc:
        raise ImageError(f"{path.name}: {exc}") from None


def picture_from_array(arr: np.ndarray, bgr: bool = False) -> Picture:
    """Accept what callers and Gradio's API hand over: gray, gray+alpha, RGB, RGBA; uint8/16 or float."""
    arr = np.asarray(arr)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (2, 3, 4)):
        raise ImageError(f"Expected an image array of shape (H, W[, 1|2|3|4]), got {arr.shape}.")
    _check_pixels(arr.shape[1], arr.shape[0], DEFAULT_MAX_PIXELS)
    bit_depth = 8
    if arr.dtype == np.uint8:
        f = arr.astype(np.float32) / 255.0
    elif arr.dtype == np.uint16:
        f, bit_depth = arr.astype(np.float32) / 65535.0, 16
    elif arr.dtype == bool:
        f = arr.astype(np.float32)
    elif np.issubdtype(arr.dtype, np.floating):
        f = np.nan_to_num(arr.astype(np.float32))
        top = float(f.max(initial=0.0))
        if top > 1.0 + 1e-3:  # 0-255 floats would come out white
            raise ImageError(
                f"A float image must hold values in [0, 1]; this one reaches {top:g}: divide it by 255 or pass uint8."
            )
        f = np.clip(f, 0, 1)
    elif np.issubdtype(arr.dtype, np.integer):
        f = np.clip(arr.astype(np.float32) / (65535.0 if arr.max(initial=0) > 255 else 255.0), 0, 1)
    else:
        raise ImageError(f"Unsupported image array type {arr.dtype}.")
    if f.ndim == 2:
        return Picture(rgb=np.repeat(f[:, :, None], 3, axis=2), grayscale=True, bit_depth=bit_depth)
    if f.shape[2] == 2:
        return Picture(
            rgb=np.repeat(f[:, :, :1], 3, axis=2), alpha=f[:, :, 1].copy(), grayscale=True, bit_depth=bit_depth
        )
    colour = f[:, :, 2::-1] if bgr else f[:, :, :3]
    alpha = f[:, :, 3].copy() if f.shape[2] == 4 else None
    return Picture(rgb=np.ascontiguousarray(colour), alpha=alpha, bit_depth=bit_depth)


def load_picture(image: ImageLike, max_pixels: int = DEFAULT_MAX_PIXELS, draft_pixels: int | None = None) -> Picture:
    """Any supported input as a :class:`Picture`, the engine's one image type.

    Args:
        image: a path, encoded bytes, a PIL image, a numpy array (gray, gray+alpha, RGB or RGBA;
            uint8, uint16 or float in [0, 1]; RGB order, not OpenCV's BGR) or a Picture.
        max_pixels: refuse larger images before decoding them (decompression bombs).
        draft_pixels: a JPEG above this many pixels decodes at 1/2, 1/4 or 1/8 scale, never below
            it: the caller means to downscale to about this size anyway.

    Returns:
        The Picture: float32 RGB in [0, 1], alpha, and whether the source was gray or 16-bit.

    Raises:
        ImageError: not an image that can be read, or too large (one line).
    """
    if isinstance(image, Picture):
        return image
    if isinstance(image, (bytes, bytearray)):
        return decode(bytes(image), max_pixels, draft_pixels)
    if isinstance(image, (str, os.PathLike)):
        return read_image(image, max_pixels, draft_pixels)
    if isinstance(image, Image.Image):
        try:  # a lazily opened image decodes here, and may turn out truncated or corrupt
            return _from_pil(image, max_pixels)
        except ImageError:
            raise
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageError(f"The image could not be decoded: {first_line(exc)}.") from None
    if isinstance(image, np.ndarray):
        return picture_from_array(image)
    raise ImageError(f"Unsupported image input of type {type(image).__name__}.")


def is_visually_gray(rgb: np.ndarray, tolerance: float = 1.5 / 255) -> bool:
    """True for RGB images whose three channels carry the same values (scanned B&W photos)."""
    step = max(1, int(np.sqrt(rgb.shape[0] * rgb.shape[1] / 250_000)))
    sample = rgb[::step, ::step]
    return bool(
        np.abs(sample[:, :, 0] - sample[:, :, 1]).max() <= tolerance
        and np.abs(sample[:, :, 1] - sample[:, :, 2]).max() <= tolerance
    )


def encode(picture: Picture, fmt: str = "png", quality: int = 95, png_level: int = 6) -> bytes:
    """Encode pixels only (no metadata). 16-bit survives in PNG and TIFF; JPEG/WebP are 8-bit.
    ``png_level`` trades size for time: a 512 x 512 face took 80 ms at 6 and 17 ms at 1 (15% larger)."""
    fmt = fmt.lower().lstrip(".")
    fmt = {"jpeg": "jpg", "tif": "tiff"}.get(fmt, fmt)
    if fmt not in ("png", "jpg", "webp", "bmp", "tiff"):
        raise ImageError(f"Unsupported output format {fmt!r}; use png, jpg, webp, bmp or tiff.")
    pic = picture
    if fmt in ("jpg", "webp", "bmp") and pic.bit_depth == 16:
        pic = replace(pic, bit_depth=8)
    if fmt == "jpg" and pic.alpha is not None:
        pic = replace(pic, alpha=None)  # JPEG has no alpha: PNG is the format that keeps it
    arr = pic.to_array()
    if arr.dtype == np.uint16:
        # OpenCV writes 16-bit PNG/TIFF in all channel layouts; it wants BGR(A)
        if arr.ndim == 3:
            arr = (
                cv2.cvtColor(arr, cv2.COLOR_RGBA2BGRA if arr.shape[2] == 4 else cv2.COLOR_RGB2BGR)
                if arr.shape[2] in (3, 4)
                else arr
            )
        flags = [cv2.IMWRITE_PNG_COMPRESSION, png_level] if fmt == "png" else []
        ok, buf = cv2.imencode(".png" if fmt == "png" else ".tiff", arr, flags)
        if not ok:
            raise ImageError(f"Could not encode the image as {fmt}.")
        return buf.tobytes()
    img = Image.fromarray(arr)
    out = io.BytesIO()
    params = {"quality": quality} if fmt in ("jpg", "webp") else {"compress_level": png_level} if fmt == "png" else {}
    img.save(out, format={"jpg": "JPEG", "tiff": "TIFF"}.get(fmt, fmt.upper()), **params)
    return out.getvalue()


def write_image(path: str | os.PathLike, picture: Picture, quality: int = 95) -> Path:
    """Write a picture atomically (temp file + rename); a reader never sees half a file.

    Args:
        path: the file to write; its extension picks the format (png, jpg, webp, bmp, tif).
        picture: what to write; 16-bit survives in PNG and TIFF, alpha in PNG, WebP and TIFF.
        quality: JPEG and WebP quality.

    Returns:
        ``path`` as a Path. No metadata (EXIF, GPS) is written.

    Raises:
        ImageError: an unsupported format. OSError: the disk refused the write.
    """
    path = Path(path)
    data = encode(picture, path.suffix or ".png", quality)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:  # a full disk or an interrupt leaves no partial file behind
        tmp.unlink(missing_ok=True)
        raise
    return path


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Float in [0, 1] -> uint8 (rounded, clipped); uint8 passes through unchanged."""
    return x if x.dtype == np.uint8 else np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)


def list_images(path: Path) -> list[Path]:
    """``path`` itself when it is a file, else the images directly inside the folder, sorted by name."""
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    raise InputNotFoundError(f"Input {path} does not exist.")


SUFFIX_CHARACTERS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def check_suffix(suffix: str, label: str = "The suffix") -> str:
    """A suffix only ever names a file inside the output folder: no separators, no '..'."""
    if not set(suffix) <= SUFFIX_CHARACTERS or ".." in suffix:
        raise OptionsError(f"{label} may hold letters, digits, '-', '_' and single dots only, not {suffix!r}.")
    return suffix


P = TypeVar("P", bound=PurePath)
OUTPUT_EXTENSIONS = ("png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff")


def output_extension(input_suffix: str, requested: str = "auto") -> str:
    """The restored image's extension: the input's own ("auto") or the one requested; png for any
    other (a .gif input, an unknown request)."""
    ext = (input_suffix if requested == "auto" else requested).lower().lstrip(".")
    return ext if ext in OUTPUT_EXTENSIONS else "png"


def output_stems(inputs: Sequence[P]) -> dict[P, str]:
    """The name each input's outputs take: its stem, or, where inputs in one folder share a stem
    (photo.jpg and photo.png), the stem and its extension (photo_jpg, photo_png), so no output
    overwrites another and a rerun finds each again."""
    sharing: dict[tuple[PurePath, str], int] = {}
    for path in inputs:
        key = (path.parent, path.stem.lower())
        sharing[key] = sharing.get(key, 0) + 1
    return {
        path: f"{path.stem}_{path.suffix.lstrip('.')}" if sharing[path.parent, path.stem.lower()] > 1 else path.stem
        for path in inputs
    }


def resize(arr: np.ndarray, size: tuple[int, int], interpolation: int = cv2.INTER_LANCZOS4) -> np.ndarray:
    """Resize float arrays to (width, height); INTER_AREA when shrinking avoids aliasing."""
    if (arr.shape[1], arr.shape[0]) == size:
        return arr
    if size[0] < arr.shape[1] and interpolation == cv2.INTER_LANCZOS4:
        interpolation = cv2.INTER_AREA
    out = cv2.resize(arr, size, interpolation=interpolation)
    return np.clip(out, 0.0, 1.0) if out.dtype == np.float32 else out


def resize_to(img: np.ndarray, size: int, enlarge: int = cv2.INTER_CUBIC) -> np.ndarray:
    """Square resize to ``size`` x ``size``: INTER_AREA when shrinking, ``enlarge`` when growing."""
    return resize(img, (size, size), cv2.INTER_AREA if img.shape[0] > size else enlarge)
