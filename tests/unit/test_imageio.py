"""Image/mask decoding, validation limits, mask encoding, safe names and zip extraction."""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from incseg_app.domain.errors import BadFileError
from incseg_app.services.archives import ZipLimits, extract_zip, safe_relative_name
from incseg_app.services.imageio import (
    check_mask, class_pixels, decode_mask, decode_rgb, encode_mask, encode_palette_png, hex_to_rgb,
    validate_image, voc_color,
)
from store_helpers import bomb_png, image_bytes, label_png

BIG = 2**30


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "WEBP"])
def test_valid_images_report_their_size(fmt):
    info = validate_image(image_bytes(40, 30, fmt=fmt), "a.img", BIG, BIG)
    assert (info.width, info.height, info.format) == (40, 30, fmt)


def test_decode_rgb_shape_and_values():
    buf = io.BytesIO()
    Image.new("RGBA", (5, 4), (10, 20, 30, 128)).save(buf, format="PNG")
    arr = decode_rgb(buf.getvalue())
    assert arr.shape == (4, 5, 3) and arr.dtype == np.uint8
    assert arr[0, 0].tolist() == [10, 20, 30]


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"),
    (b"this is plain text, not a picture", "not an image"),
    (image_bytes(64, 64, fmt="JPEG")[:300], "corrupt or truncated"),
    (image_bytes(64, 64, fmt="PNG")[:-40], "corrupt or truncated"),
    (bomb_png(), "decompression bomb"),
])
def test_bad_files_name_the_file_and_reason(data, reason):
    with pytest.raises(BadFileError, match=reason) as err:
        validate_image(data, "holiday.jpg", BIG, 40_000_000)
    assert err.value.path == "holiday.jpg"
    assert str(err.value).startswith("holiday.jpg: ")


def test_pixel_and_byte_limits_are_configurable():
    data = image_bytes(100, 100)
    with pytest.raises(BadFileError, match="over the limit of 5,000"):
        validate_image(data, "x.png", BIG, 5_000)
    with pytest.raises(BadFileError, match="MiB limit"):
        validate_image(data, "x.png", 100, BIG)


def test_decode_mask_accepts_grey_and_palette_and_rejects_rgb():
    mask = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert np.array_equal(decode_mask(label_png(mask), "m.png", BIG, BIG), mask)
    pal = Image.fromarray(mask, mode="L").convert("P")
    pal.putpalette([0, 0, 0] * 256)
    buf = io.BytesIO()
    pal.save(buf, format="PNG")
    assert np.array_equal(decode_mask(buf.getvalue(), "p.png", BIG, BIG), mask)
    with pytest.raises(BadFileError, match="single-channel"):
        decode_mask(image_bytes(4, 3), "rgb.png", BIG, BIG)


def test_check_mask_validates_shape():
    ok = check_mask(np.zeros((3, 4), dtype=np.int64), "m", 4, 3)
    assert ok.dtype == np.uint8
    with pytest.raises(BadFileError, match="mask is 4x3 but its image is 5x3"):
        check_mask(np.zeros((3, 4), dtype=np.uint8), "m", 5, 3)
    with pytest.raises(BadFileError, match="2-D"):
        check_mask(np.zeros((3, 4, 1), dtype=np.uint8), "m", 4, 3)
    with pytest.raises(BadFileError, match="0..255"):
        check_mask(np.full((3, 4), 300), "m", 4, 3)


def test_class_pixels_skips_background_and_ignore():
    mask = np.array([[0, 1, 1], [255, 7, 0]], dtype=np.uint8)
    assert class_pixels(mask) == {1: 2, 7: 1}


def test_encode_mask_roundtrip_and_deterministic():
    mask = np.random.default_rng(0).integers(0, 256, (17, 9)).astype(np.uint8)
    data = encode_mask(mask)
    assert data == encode_mask(mask.copy())
    assert np.array_equal(decode_mask(data, "m", BIG, BIG), mask)


def test_palette_png_keeps_ids_and_uses_class_colours():
    mask = np.array([[0, 3], [255, 3]], dtype=np.uint8)
    img = Image.open(io.BytesIO(encode_palette_png(mask, {3: hex_to_rgb("#12ab34")})))
    assert img.mode == "P"
    assert np.array_equal(np.asarray(img), mask)
    palette = img.getpalette()
    assert palette[9:12] == [0x12, 0xAB, 0x34]
    assert palette[0:3] == [0, 0, 0]
    assert palette[765:768] == [224, 224, 192]


def test_voc_colours_are_distinct():
    colours = [voc_color(i) for i in range(256)]
    assert len(set(colours)) == 256
    assert colours[:3] == ["#000000", "#800000", "#008000"]


@pytest.mark.parametrize("name, expected", [("a.jpg", "a.jpg"), ("dir/./b.png", "dir/b.png"),
                                            ("win\\c.png", "win/c.png")])
def test_safe_relative_name_normalises(name, expected):
    assert safe_relative_name(name) == expected


@pytest.mark.parametrize("name, reason", [("../evil.png", "'../'"), ("a/../../evil.png", "'../'"),
                                          ("/etc/passwd", "absolute"), ("C:\\x.png", "absolute"),
                                          ("", "empty"), ("./", "empty")])
def test_safe_relative_name_rejects_escapes(name, reason):
    with pytest.raises(BadFileError, match=reason):
        safe_relative_name(name)


def test_extract_zip_rejects_slip_before_writing_anything(tmp_path):
    archive = tmp_path / "data.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("images/ok.png", b"fine")
        zf.writestr("../../outside.txt", b"evil")
    target = tmp_path / "target"
    target.mkdir()
    with pytest.raises(BadFileError, match="data.zip:../../outside.txt") as err:
        extract_zip(archive, target, ZipLimits(100, BIG))
    assert "'../'" in err.value.reason
    assert list(target.rglob("*")) == []
    assert not (tmp_path / "outside.txt").exists()


def test_extract_zip_writes_entries(tmp_path):
    archive = tmp_path / "data.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a/b.txt", b"content")
    extract_zip(archive, tmp_path / "t", ZipLimits(100, BIG))
    assert (tmp_path / "t" / "a" / "b.txt").read_bytes() == b"content"
