"""Images in, images out: every input kind users and Gradio's API hand over, decoded safely."""

import io
import struct
import time
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import rgb_uint8
from gfpgan_core import ImageError
from gfpgan_core.images import Picture, decode, encode, load_picture, picture_from_array


def _png_bytes(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", **kw)
    return buf.getvalue()


def test_exif_orientation_is_applied():
    img = Image.fromarray(rgb_uint8(20, 40))  # landscape pixels
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif.tobytes())
    assert decode(buf.getvalue()).size == (20, 40)


def test_16bit_gray_png_is_scaled_not_clipped():
    arr = np.full((8, 8), 30000, np.uint16)
    _ok, buf = cv2.imencode(".png", arr)
    pic = decode(buf.tobytes())
    assert pic.grayscale and pic.bit_depth == 16
    assert abs(pic.rgb.mean() - 30000 / 65535) < 1e-3  # Pillow's RGB conversion would give 1.0 (white)
    out = pic.to_array()
    assert out.dtype == np.uint16 and out.ndim == 2 and abs(int(out[0, 0]) - 30000) <= 1


def test_16bit_rgb_png_keeps_depth():
    arr = np.zeros((6, 6, 3), np.uint16)
    arr[..., 2] = 50000  # red, in OpenCV's BGR order
    _ok, buf = cv2.imencode(".png", arr)
    pic = decode(buf.tobytes())
    assert pic.bit_depth == 16 and not pic.grayscale
    assert abs(pic.rgb[0, 0, 0] - 50000 / 65535) < 1e-4 and pic.rgb[0, 0, 2] == 0


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "CMYK", "L", "1", "I;16"])
def test_modes_decode(mode):
    img = (
        Image.fromarray(rgb_uint8(10, 12)).convert(mode)
        if mode != "I;16"
        else Image.fromarray(np.full((10, 12), 40000, np.uint16))
    )
    pic = decode(_png_bytes(img) if mode != "CMYK" else _jpeg(img))
    assert pic.rgb.shape == (10, 12, 3) and pic.rgb.dtype == np.float32
    assert (pic.alpha is not None) == (mode in ("RGBA", "LA"))
    assert pic.grayscale == (mode in ("LA", "L", "1", "I;16"))


def _jpeg(img):
    buf = io.BytesIO()
    img.save(buf, format="JPEG")
    return buf.getvalue()


def test_decompression_bomb_refused_before_decoding():
    # A valid PNG header claiming 20000x20000 pixels with almost no data behind it.
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b"")
    start = time.perf_counter()
    with pytest.raises(ImageError, match="too large"):
        decode(png)
    # between our limit and Pillow's own guard, our check answers (still before decoding)
    small_bomb = png.replace(struct.pack(">II", 20000, 20000), struct.pack(">II", 12000, 12000))
    small_bomb = small_bomb[:8] + chunk(b"IHDR", struct.pack(">IIBBBBB", 12000, 12000, 8, 2, 0, 0, 0)) + small_bomb[33:]
    with pytest.raises(ImageError, match="12000x12000"):
        decode(small_bomb)
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize("data", [b"", b"hello, not an image", b"\x89PNG\r\n\x1a\n garbage", b"GIF89a"])
def test_non_images_give_one_line_errors(data):
    with pytest.raises(ImageError) as err:
        decode(data)
    assert "\n" not in str(err.value)


def test_metadata_is_not_copied():
    img = Image.fromarray(rgb_uint8(16, 16))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (1.0, 2.0, 3.0)}  # GPS IFD
    exif[0x010F] = "SecretCam"
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif.tobytes())
    pic = decode(buf.getvalue())
    for fmt in ("png", "jpg", "webp"):
        out = encode(pic, fmt)
        assert b"SecretCam" not in out and b"Exif" not in out
        assert not Image.open(io.BytesIO(out)).getexif()


def test_arrays_from_gradio_api():
    assert picture_from_array(np.zeros((4, 5), np.uint8)).grayscale
    assert picture_from_array(np.zeros((4, 5, 1), np.uint8)).grayscale
    rgba = picture_from_array(np.zeros((4, 5, 4), np.uint8))
    assert rgba.alpha is not None and rgba.rgb.shape == (4, 5, 3)
    assert picture_from_array(np.zeros((4, 5, 3), np.uint16)).bit_depth == 16
    assert picture_from_array(np.full((4, 5, 3), 1.0, np.float64)).rgb.max() == 1.0
    with pytest.raises(ImageError, match=r"\[0, 1\]"):  # 0-255 floats would come out white: refused
        picture_from_array(np.full((4, 5, 3), 2.0, np.float64))
    with pytest.raises(ImageError):
        picture_from_array(np.zeros((4, 5, 7), np.uint8))
    with pytest.raises(ImageError):
        load_picture(12345)


def test_rgba_roundtrip_keeps_alpha():
    arr = rgb_uint8(8, 8)
    alpha = np.linspace(0, 255, 64, dtype=np.uint8).reshape(8, 8)
    pic = picture_from_array(np.dstack([arr, alpha]))
    back = np.asarray(Image.open(io.BytesIO(encode(pic, "png"))))
    assert back.shape == (8, 8, 4) and np.array_equal(back[..., 3], alpha) and np.array_equal(back[..., :3], arr)


def test_unsupported_output_format():
    with pytest.raises(ImageError, match="gif"):
        encode(Picture(np.zeros((2, 2, 3), np.float32)), "gif")


@pytest.mark.parametrize("kind", ["dev_zero", "fifo", "folder"])
def test_special_files_are_refused_before_reading(tmp_path, kind):
    import os
    import time

    from gfpgan_core.images import read_image

    if kind == "dev_zero":
        path = "/dev/zero"
    elif kind == "fifo":
        path = tmp_path / "pipe.png"
        os.mkfifo(path)
    else:
        path = tmp_path / "folder.png"
        path.mkdir()
    start = time.perf_counter()
    with pytest.raises(ImageError, match="not a regular file"):
        read_image(path)
    assert time.perf_counter() - start < 1  # refused on its type, nothing read


def test_files_above_the_byte_cap_are_refused(tmp_path):
    from gfpgan_core.images import read_file

    path = tmp_path / "big.png"
    path.write_bytes(b"\0" * 2000)
    with pytest.raises(ImageError, match="limit"):
        read_file(path, max_bytes=1000)


def test_a_lazily_truncated_pil_image_is_an_image_error(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(rgb_uint8(300, 300)).save(buf, format="PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    lazy = Image.open(path)  # opens fine: only the header is read
    with pytest.raises(ImageError, match="decoded") as err:
        load_picture(lazy)
    assert "\n" not in str(err.value)


def test_large_jpegs_decode_at_reduced_size_and_say_how_large_they_were():
    big = np.repeat(np.repeat(rgb_uint8(30, 40), 100, axis=0), 100, axis=1)  # 4000x3000, smooth blocks
    buf = io.BytesIO()
    Image.fromarray(big).save(buf, format="JPEG", quality=85)
    pic = decode(buf.getvalue(), draft_pixels=1_000_000)
    assert pic.size == (2000, 1500) and pic.source_size == (4000, 3000)  # 1/2: 1/4 would fall under 1 MP
    assert decode(buf.getvalue()).size == (4000, 3000)  # without a target, full size
    # the limit applies to what is decoded: a JPEG passes where its full size would not
    assert decode(buf.getvalue(), max_pixels=4_000_000, draft_pixels=1_000_000).size == (2000, 1500)
    png = io.BytesIO()
    Image.fromarray(big).save(png, format="PNG")
    with pytest.raises(ImageError, match="4000x3000"):
        decode(png.getvalue(), max_pixels=4_000_000, draft_pixels=1_000_000)  # no DCT scaling: refused unread


def test_the_downscale_note_names_the_files_own_size(identity_restorer):
    big = np.repeat(np.repeat(rgb_uint8(30, 40), 100, axis=0), 100, axis=1)
    buf = io.BytesIO()
    Image.fromarray(big).save(buf, format="JPEG", quality=85)
    result = identity_restorer.restore(buf.getvalue(), upscale=1, max_input_pixels=1_000_000)
    assert any(n.startswith("The image (4000x3000) was reduced to") for n in result.notes), result.notes


def test_a_full_disk_leaves_no_partial_file(tmp_path, monkeypatch):
    import errno
    from pathlib import Path

    from gfpgan_core.images import write_image

    def full(self, data):
        Path.write_text(self, "half")  # some bytes land, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(OSError, match="No space"):
        write_image(tmp_path / "out.png", Picture(np.zeros((4, 4, 3), np.float32)))
    assert list(tmp_path.iterdir()) == []


def test_float_images_must_be_in_zero_one_and_16bit_tiff_keeps_its_depth():
    with pytest.raises(ImageError, match=r"\[0, 1\].*divide it by 255"):
        load_picture(np.full((8, 8, 3), 200.0, np.float32))
    assert load_picture(np.full((8, 8, 3), 0.5, np.float32)).rgb.max() == pytest.approx(0.5)
    deep = (np.random.default_rng(0).random((20, 30, 3)) * 65535).astype(np.uint16)
    _, buf = cv2.imencode(".tiff", deep[:, :, ::-1])
    pic = decode(buf.tobytes())
    assert pic.bit_depth == 16 and np.array_equal(pic.to_array(), deep)
    back = decode(encode(pic, "tiff"))
    assert back.bit_depth == 16 and np.array_equal(back.to_array(), deep)
