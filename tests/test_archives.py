"""ZIP archives: a visitor's bundle of photos read without trusting it, and results bundled for one download."""

import io
import zipfile

import pytest
from PIL import Image

from gfpgan_core.archives import ArchiveLimits, ResultArchive, image_entries
from gfpgan_core.errors import ImageError


def _png(size=(8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(out, "PNG")
    return out.getvalue()


def _zip(path, entries):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            z.writestr(name, data)
    return path


def test_only_images_are_taken_and_names_are_labels_not_paths(tmp_path):
    archive = _zip(
        tmp_path / "photos.zip",
        [
            ("a.png", _png()),
            ("deep/../../../etc/b.JPG", _png()),
            ("notes.txt", b"hello"),
            ("__MACOSX/._a.png", b"resource fork"),
            (".hidden.png", _png()),
            ("folder/", b""),
        ],
    )
    contents = image_entries(archive)
    assert [e.name for e in contents.images] == ["a.png", "b.JPG"]
    assert contents.images[0].read() == _png()
    # every entry passed over is named, with why (a folder is not an entry anyone sent)
    assert contents.skipped == ["notes.txt (not an image)", "__MACOSX/._a.png (hidden)", ".hidden.png (hidden)"]


@pytest.mark.parametrize(
    ("entries", "limits", "message"),
    [
        ([("notes.txt", b"x")], ArchiveLimits(), "holds no images"),
        ([(f"{i}.png", _png()) for i in range(4)], ArchiveLimits(max_files=3), "holds 4 images; at most 3"),
        ([("a.png", bytes(5000)), ("b.png", bytes(5000))], ArchiveLimits(max_total_bytes=8000), "unpacks to more"),
    ],
)
def test_an_archive_over_the_limits_is_one_line(tmp_path, entries, limits, message):
    with pytest.raises(ImageError, match=message):
        image_entries(_zip(tmp_path / "x.zip", entries), limits)


def test_an_entry_over_the_size_limit_fails_alone(tmp_path):
    archive = _zip(tmp_path / "x.zip", [("big.png", bytes(5000)), ("small.png", _png())])
    big, small = image_entries(archive, ArchiveLimits(max_file_bytes=1000)).images
    with pytest.raises(ImageError, match=r"big\.png is larger than"):
        big.read()
    assert small.read() == _png()


def test_a_file_that_is_not_a_zip_is_one_line(tmp_path):
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"PK not really")
    with pytest.raises(ImageError, match=r"fake\.zip is not a readable ZIP archive"):
        image_entries(fake)


def test_a_corrupt_entry_fails_alone(tmp_path):
    archive = _zip(tmp_path / "x.zip", [("a.png", _png() * 50), ("b.png", _png())])
    data = bytearray(archive.read_bytes())
    start = data.index(b"a.png") + len("a.png") + 20  # inside a.png's compressed bytes
    data[start : start + 40] = bytes(40)
    archive.write_bytes(bytes(data))
    broken, fine = image_entries(archive).images
    with pytest.raises(ImageError, match=r"a\.png could not be read"):
        broken.read()
    assert fine.read() == _png()


def test_results_get_unique_names_and_appear_only_when_complete(tmp_path):
    path = tmp_path / "out" / "results.zip"
    with ResultArchive(path) as archive:
        names = [archive.add("a.png", b"1"), archive.add("a.png", b"2"), archive.add("faces/a.png", b"3")]
        assert not path.exists()  # written under another name until complete
    assert names == ["a.png", "a_2.png", "faces/a.png"]
    with zipfile.ZipFile(path) as z:
        assert z.read("a_2.png") == b"2"

    failed = tmp_path / "failed.zip"
    with pytest.raises(RuntimeError), ResultArchive(failed) as archive:
        archive.add("a.png", b"1")
        raise RuntimeError("the disk filled up")
    assert list(tmp_path.glob("*failed*")) == [] and list(tmp_path.glob(".*")) == []


@pytest.mark.parametrize("zip64", [False, True])
def test_an_archive_listing_too_many_entries_is_refused_before_its_listing_is_read(tmp_path, zip64, monkeypatch):
    """The count and the listing's size come from the end record: a ZIP of 265,000 empty entries took
    3 s to list each time it was named; refused here, zipfile never parses it."""
    import zipfile

    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w", allowZip64=True) as z:
        for i in range(1200):
            z.writestr(f"{i}.txt", b"")
        if zip64:  # force the ZIP64 end records, as a writer does past 65,535 entries
            monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 10)
    from gfpgan_core.archives import listing_size

    assert listing_size(path)[0] == 1200
    opened = []
    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", lambda self: opened.append(1))
    with pytest.raises(ImageError, match="lists 1200 entries; at most 1000 are read"):
        image_entries(path)
    assert opened == []
