"""The restoration pipeline on real photos: paste-back fidelity, sizes, image kinds, options, threads."""

import threading

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import REAL_DATA, IdentityRestorer, photos, rgb_uint8
from gfpgan_core import FaceCount, OptionsError, RestoreOptions, Restorer
from gfpgan_core.errors import GFPGANError
from gfpgan_core.images import read_image


def _psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def test_identity_model_reproduces_the_input(identity_restorer):
    """Upscale 1: pixels no mask reaches are untouched, face regions come back at >= 35 dB."""
    checked = 0
    for path in photos("photos", 14):
        original = read_image(path).to_array()
        result = identity_restorer.restore(path, upscale=1)
        out = result.image
        assert out.shape == original.shape and out.dtype == original.dtype
        touched = np.zeros(out.shape[:2], bool)
        for face in result.faces:
            x0, y0, x1, y1 = face.box.astype(int)
            if max(x1 - x0, y1 - y0) >= 512:
                continue  # the criterion is for faces smaller than the crop
            x0, y0 = max(x0, 0), max(y0, 0)
            assert _psnr(out[y0:y1, x0:x1], original[y0:y1, x0:x1]) >= 35, path.name
            checked += 1
        # everything outside the faces' crop footprints is bit-identical
        if result.faces:
            import cv2

            from gfpgan_core.faces.alignment import similarity_transform, template_for

            for face in result.faces:
                m = similarity_transform(face.landmarks, template_for(512))
                inv = cv2.invertAffineTransform(m)
                corners = np.array([[0, 0, 1], [512, 0, 1], [0, 512, 1], [512, 512, 1]]) @ inv.T
                x0, y0 = np.floor(corners.min(0)).astype(int) - 2
                x1, y1 = np.ceil(corners.max(0)).astype(int) + 3
                touched[max(y0, 0) : y1, max(x0, 0) : x1] = True
        assert np.array_equal(out[~touched], original[~touched]), path.name
    assert checked >= (20 if REAL_DATA else 10)


@pytest.mark.parametrize("scale", [1, 2, 3.5])
def test_any_upscale_factor(tiny_restorer, scale):
    path = photos("photos", 1)[0]
    w, h = Image.open(path).size
    result = tiny_restorer.restore(path, upscale=scale)
    assert result.image.shape[:2] == (round(h * scale), round(w * scale))
    assert len(result.faces) >= 1


def test_grayscale_stays_grayscale_and_rgba_keeps_alpha(tiny_restorer):
    path = photos("hq_photos", 1)[0]
    rgb = np.asarray(Image.open(path).convert("RGB"))
    gray = tiny_restorer.restore(Image.fromarray(rgb).convert("L"), upscale=2)
    assert gray.image.ndim == 2 and gray.faces
    assert gray.faces[0].restored_crop.std(axis=2).max() == 0  # restored faces are gray too

    alpha = np.zeros(rgb.shape[:2], np.uint8)
    half = rgb.shape[1] // 2
    alpha[:, :half] = 255
    rgba = tiny_restorer.restore(np.dstack([rgb, alpha]), upscale=2).image
    assert rgba.shape == (rgb.shape[0] * 2, rgb.shape[1] * 2, 4)
    edge = 2 * half  # Lanczos reaches 4 source pixels (8 output pixels) across the edge
    assert rgba[:, : edge - 9, 3].min() == 255 and rgba[:, edge + 9 :, 3].max() == 0


def test_16bit_input_gives_16bit_output(tiny_restorer):
    path = photos("hq_photos", 1)[0]
    rgb16 = np.asarray(Image.open(path).convert("RGB")).astype(np.uint16) * 257
    out = tiny_restorer.restore(rgb16, upscale=1).image
    assert out.dtype == np.uint16 and out.max() > 255


def test_weight_really_acts(tiny_restorer):
    path = photos("hq_photos", 1)[0]
    crops = {w: tiny_restorer.restore(path, weight=w, upscale=1).faces[0] for w in (0.0, 0.5, 1.0)}
    assert np.abs(crops[0.0].restored_crop.astype(int) - crops[0.0].input_crop).max() <= 1  # input face back
    assert not np.array_equal(crops[0.5].restored_crop, crops[1.0].restored_crop)
    mid = (crops[0.0].restored_crop.astype(float) + crops[1.0].restored_crop) / 2
    assert np.abs(crops[0.5].restored_crop - mid).max() <= 1.5


def test_deterministic_by_default_and_seed_changes_noise(tiny_checkpoint):

    restorer = Restorer.from_pretrained(tiny_checkpoint, device="cpu", download=False)
    for name, p in restorer.model.stylegan_decoder.named_parameters():
        if name.endswith("weight") and p.shape == (1,):
            p.data.fill_(0.3)  # make noise matter
    path = photos("hq_photos", 1)[0]
    a = restorer.restore(path, upscale=1).image
    b = restorer.restore(path, upscale=1).image
    c = restorer.restore(path, upscale=1, seed=1).image
    d = restorer.restore(path, upscale=1, seed=1).image
    assert np.array_equal(a, b) and np.array_equal(c, d) and not np.array_equal(a, c)


@pytest.mark.parametrize("scale", [1, 2])
def test_the_callers_picture_is_never_changed(tiny_restorer, scale):
    """At 1x without the background network the canvas is the input itself; pasting into it changed the
    caller's Picture (a second restore then found no faces in the noise of the first)."""
    from gfpgan_core.images import load_picture

    pic = load_picture(photos("hq_photos", 1)[0])
    before = pic.rgb.copy()
    first = tiny_restorer.restore(pic, upscale=scale)
    assert first.faces and np.array_equal(pic.rgb, before)
    assert len(tiny_restorer.restore(pic, upscale=scale).faces) == len(first.faces)


def test_batch_size_does_not_change_results(tiny_restorer):
    path = max(
        photos("photos", 8),
        key=lambda p: len(tiny_restorer.detector.detect(np.asarray(Image.open(p).convert("RGB")), 0.6)),
    )
    one = tiny_restorer.restore(path, batch_size=1, seed=3)
    many = tiny_restorer.restore(path, batch_size=5, seed=3)
    assert len(one.faces) >= 2
    for f1, f2 in zip(one.faces, many.faces, strict=False):
        assert np.abs(f1.restored_crop.astype(int) - f2.restored_crop).max() <= 1


def test_concurrent_requests_do_not_mix(tiny_restorer):
    paths = photos("hq_photos", 4)
    expected = {p: tiny_restorer.restore(p, upscale=1).image for p in paths}
    results, errors = {}, []

    def work(p):
        try:
            results[p] = tiny_restorer.restore(p, upscale=1).image
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(p,)) for p in paths * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for p in paths:
        assert np.array_equal(results[p], expected[p])


def test_no_face_returns_the_upsampled_image_and_says_so(tiny_restorer):
    img = np.full((60, 80, 3), 128, np.uint8)
    result = tiny_restorer.restore(img, upscale=2)
    assert result.image.shape == (120, 160, 3) and result.faces == []
    assert result.face_count.sentence() == "No face found"


def test_aligned_input_goes_straight_to_the_model(tiny_restorer):
    face = photos("lq_faces_512", 1)[0]
    result = tiny_restorer.restore(face, aligned=True, upscale=1)
    assert result.image.shape == (512, 512, 3) and len(result.faces) == 1
    assert result.faces[0].restored_crop.shape == (64, 64, 3)  # the tiny model's size


def test_only_center_face_and_min_size(tiny_restorer):
    path = max(photos("photos", 8), key=lambda p: len(tiny_restorer.restore(p, upscale=1).faces))
    assert len(tiny_restorer.restore(path, upscale=1, only_center_face=True).faces) == 1
    all_faces = tiny_restorer.restore(path, upscale=1).faces
    big = tiny_restorer.restore(path, upscale=1, min_face_size=1e6).faces
    assert len(all_faces) >= 2 and big == []
    xs = [f.box[0] + f.box[2] for f in all_faces]
    assert xs == sorted(xs)  # numbered left to right


@pytest.mark.parametrize(
    "bad",
    [dict(upscale=0.5), dict(upscale=float("nan")), dict(weight=1.5), dict(batch_size=0), dict(detection_threshold=2)],
)
def test_bad_options_are_clear_errors(tiny_restorer, bad):
    with pytest.raises(OptionsError):
        tiny_restorer.restore(rgb_uint8(32, 32), **bad)


def test_unknown_option_is_an_error_not_ignored(tiny_restorer):
    with pytest.raises(OptionsError, match="wieght"):
        tiny_restorer.restore(rgb_uint8(32, 32), wieght=0.5)


def test_large_inputs_are_limited_with_a_note(tiny_restorer):
    img = rgb_uint8(400, 300)
    result = tiny_restorer.restore(img, RestoreOptions(max_input_pixels=30_000, upscale=4, max_output_pixels=200_000))
    assert result.image.shape[0] * result.image.shape[1] <= 200_000 * 1.01
    assert len(result.notes) >= 2


def test_identity_restorer_crop_size():
    assert Restorer(IdentityRestorer(), device="cpu").crop_size == 512


def test_every_stage_is_timed_and_reported_in_order(tiny_restorer):
    from gfpgan_core.pipeline import STAGES

    seen = []
    result = tiny_restorer.restore(
        photos("photos", 1)[0], upscale=2, expressions=True, progress=lambda s, d, t: seen.append((s, d, t))
    )
    assert [s for s, d, t in seen if d == 0] == list(STAGES)  # each stage announced once, in order
    assert set(result.timings) == {*STAGES, "total"}
    assert result.timings["total"] >= sum(result.timings[s] for s in STAGES)
    faces = len(result.faces)
    assert ("restore", faces, faces) in seen  # per-batch progress inside the stage


def test_aligned_path_follows_the_same_timing_rule(tiny_restorer):
    result = tiny_restorer.restore(photos("lq_faces_512", 1)[0], aligned=True, upscale=1)
    assert {"decode", "align", "restore", "upsample", "total"} <= set(result.timings)
    stages = sum(v for k, v in result.timings.items() if k != "total")
    assert stages <= result.timings["total"] < stages + 0.5


def test_progress_can_stop_a_request(tiny_restorer):
    class Stop(Exception):
        pass

    def stop_at_restore(stage, done, total):
        if stage == "restore":
            raise Stop

    with pytest.raises(Stop):
        tiny_restorer.restore(photos("photos", 1)[0], progress=stop_at_restore)


@pytest.mark.parametrize(
    "bad",
    [
        dict(batch_size=2.5),
        dict(seed="x"),
        dict(seed=2**70),
        dict(max_output_pixels=-1),
        dict(upscale="2"),
        dict(only_center_face="yes"),
        dict(weight=float("inf")),
        dict(alignment="bogus"),
    ],
)
def test_options_of_the_wrong_type_are_options_errors(bad):
    with pytest.raises(OptionsError) as err:
        RestoreOptions(**bad)
    assert "\n" not in str(err.value) and next(iter(bad)) in str(err.value)


def _face_core_psnrs(restorer, path, scale):
    """PSNR of each face's core (the central half of its box) against the photo upscaled by Lanczos,
    with the face restored as itself (weight 0): where the geometry is right, the two agree."""
    from gfpgan_core.background import LanczosUpsampler

    source = read_image(path)
    result = restorer.restore(path, upscale=scale, weight=0.0)
    reference = np.round(LanczosUpsampler().upscale(source.rgb, scale) * 255)
    out = result.image.astype(np.float64)
    out = np.repeat(out[..., None], 3, axis=2) if out.ndim == 2 else out[..., :3]
    values = []
    for face in result.faces:
        x0, y0, x1, y1 = face.box
        if not min(x1 - x0, y1 - y0) >= 40 and max(x1 - x0, y1 - y0) < 512:
            continue
        cx, cy, hw, hh = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 4, (y1 - y0) / 4
        ox0, ox1 = (round((v + 0.5) * scale - 0.5) for v in (cx - hw, cx + hw))
        oy0, oy1 = (round((v + 0.5) * scale - 0.5) for v in (cy - hh, cy + hh))
        ox0, oy0 = max(ox0, 0), max(oy0, 0)
        values.append(_psnr(out[oy0:oy1, ox0:ox1], reference[oy0:oy1, ox0:ox1]))
    return values


@pytest.mark.parametrize("scale", [1, 2, 3.5, 4])
def test_pasted_faces_land_where_the_upscaled_photo_has_them(identity_restorer, scale):
    """Paste-back at any upscale maps pixel centres: a face given back unchanged must sit exactly on
    the upscaled background (a half-pixel-per-scale shift drops this to 24-30 dB at x2-x4)."""
    values = [v for p in photos("photos", 10) for v in _face_core_psnrs(identity_restorer, p, scale)]
    assert len(values) >= (40 if REAL_DATA else 5)
    assert np.median(values) >= 45 and min(values) >= 40, (np.median(values), min(values))


def test_official_alignment_through_the_pipeline(identity_restorer):
    path = photos("photos", 1)[0]
    ours = identity_restorer.restore(path, upscale=1)
    official = identity_restorer.restore(path, upscale=1, alignment="official")
    assert len(official.faces) == len(ours.faces) >= 1
    assert official.image.shape == ours.image.shape


def test_faces_too_small_to_restore_are_left_and_said(identity_restorer):
    from gfpgan_core.images import resize

    pic = read_image(photos("hq_photos", 1)[0])
    face = identity_restorer.detector.detect((pic.rgb * 255).astype(np.uint8), 0.6)[0]
    factor = 10 / face.size  # the face becomes about 10 px
    small = resize(pic.rgb, (round(pic.size[0] * factor), round(pic.size[1] * factor)))
    assert RestoreOptions().min_face_size == 16
    result = identity_restorer.restore((small * 255).astype(np.uint8), upscale=1, detection_threshold=0.3)
    count = result.face_count
    assert result.faces == [] and count.found >= 1 and count.big_enough == 0
    assert "too small to restore (under 16 px): left as it" in count.sentence()
    found = identity_restorer.restore(
        (small * 255).astype(np.uint8), upscale=1, detection_threshold=0.3, min_face_size=0
    )
    assert len(found.faces) >= 1


@pytest.mark.parametrize("device", ["meta", "banana", "cuda:7", "mps"])
def test_unusable_devices_are_one_line(device):
    import torch

    if device == "mps" and torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")
    with pytest.raises(OptionsError) as err:
        Restorer(IdentityRestorer(), device=device)
    assert "\n" not in str(err.value) and device in str(err.value)


class _ShyDetector:
    """Finds the real faces only at a low threshold, as YuNet does for a lowered head (0.4)."""

    name = "shy"

    def __init__(self, inner):
        self.inner = inner

    def detect(self, rgb, threshold):
        return [f for f in self.inner.detect(rgb, 0.3) if threshold <= 0.4]


def test_no_face_at_the_threshold_retries_once_lower_and_says_so():
    from gfpgan_core.faces import YuNetDetector

    restorer = Restorer(IdentityRestorer(), detector=_ShyDetector(YuNetDetector()), device="cpu")
    path = photos("hq_photos", 1)[0]
    assert restorer.restore(path, upscale=1).faces == []
    result = restorer.restore(path, upscale=1, fallback_threshold=0.35)
    assert len(result.faces) >= 1
    assert any("lower detection threshold 0.35" in n for n in result.notes), result.notes


def test_the_face_cap_says_how_many_were_found(identity_restorer):
    path = max(photos("photos", 8), key=lambda p: len(identity_restorer.restore(p, upscale=1).faces))
    everyone = identity_restorer.restore(path, upscale=1)
    capped = identity_restorer.restore(path, upscale=1, max_faces=1)
    assert everyone.faces_found == len(everyone.faces) >= 2
    assert capped.faces_found == everyone.faces_found and len(capped.faces) == 1
    count = capped.face_count
    assert (count.found, count.restored, count.left) == (everyone.face_count.found, 1, count.found - 1)
    assert f": the 1 largest restored, {count.left} left as" in count.sentence()
    plan = identity_restorer.plan(path, upscale=1, max_faces=1)
    assert plan.count == count  # before the run, the same count


@pytest.mark.parametrize(
    "count, after, before",
    [
        (FaceCount(0, 0, 0, 16), "No face found", "No face found"),
        (FaceCount(1, 1, 1, 16), "1 face found and restored", "1 face found, to restore"),
        (FaceCount(3, 3, 3, 16), "3 faces found, all restored", "3 faces found, all to restore"),
        (
            FaceCount(233, 66, 40, 16, "the 40 largest"),
            "233 faces found, 66 big enough (16 px or more): the 40 largest restored, 193 left as they were",
            "233 faces found, 66 big enough (16 px or more): the 40 largest to restore, 193 left as they are",
        ),
        (
            FaceCount(5, 5, 1, 16, "the one nearest the centre"),
            "5 faces found: the one nearest the centre restored, 4 left as they were",
            "5 faces found: the one nearest the centre to restore, 4 left as they are",
        ),
        (FaceCount(2, 1, 1, 16), "2 faces found, 1 big enough (16 px or more): 1 restored, 1 left as it was", None),
        (FaceCount(1, 0, 0, 16), "1 face found, too small to restore (under 16 px): left as it was", None),
        (FaceCount(4, 0, 0, 16), "4 faces found, all too small to restore (under 16 px): left as they were", None),
        (FaceCount(3, 3, 2, 16), "3 faces found: 2 restored, 1 left as it was", None),  # one could not be aligned
    ],
)
def test_one_vocabulary_for_faces_before_and_after_a_run(count, after, before):
    assert count.sentence() == after
    if before:
        assert count.sentence(planned=True) == before


def test_a_models_own_fidelity_control_replaces_the_blend():
    """weight means the same for every model (0: the input face, 1: full restoration); CodeFormer's own w
    (1: most faithful) gets 1 - weight, and no blend is made on top."""
    from conftest import IdentityRestorer
    from gfpgan_core import Restorer

    seen = []

    class OwnControl(IdentityRestorer):
        has_fidelity = True

        def restore_faces(self, x, noise=None, fidelity=None):
            seen.append(fidelity)
            return torch.zeros_like(x)  # a "restoration" far from the input: a blend would show

    restorer = Restorer(OwnControl(), device="cpu")
    crops = [np.full((512, 512, 3), 0.8, np.float32)]
    out = restorer.restore_crops(crops, weight=0.3)
    assert seen == [pytest.approx(0.7)] and np.allclose(out[0], 0.5)  # zeros in [-1, 1] is 0.5, unblended


def test_a_call_without_a_weight_runs_each_model_at_its_own_default():
    """CodeFormer's authors run it at w = 0.5 (weight 0.5); GFPGAN and RestoreFormer at full restoration."""
    from conftest import IdentityRestorer
    from gfpgan_core import Restorer
    from gfpgan_core.archs import CodeFormerConfig

    seen = []

    class CodeFormerStandIn(IdentityRestorer):  # the registry knows it by its config
        has_fidelity = True
        config = CodeFormerConfig()

        def restore_faces(self, x, noise=None, fidelity=None):
            seen.append(fidelity)
            return x

    face = np.full((512, 512, 3), 0.5, np.float32)
    restorer = Restorer(CodeFormerStandIn(), device="cpu")
    assert restorer.default_weight == 0.5
    restorer.restore(face, aligned=True, upscale=1)
    restorer.restore(face, aligned=True, upscale=1, weight=1.0)
    assert seen == [pytest.approx(0.5), pytest.approx(0.0)]
    assert Restorer(IdentityRestorer(), device="cpu").default_weight == 1.0
    assert RestoreOptions().weight is None


def test_the_plan_restores_exactly_the_faces_the_run_restores(identity_restorer):
    """Restorer.plan decides the faces (limits, only-centre, the fallback threshold, max_faces) and the
    output size before restoring; restore() acts on that plan."""
    from gfpgan_core.faces import YuNetDetector

    group = max(photos("photos", 8), key=lambda p: len(identity_restorer.plan(p, upscale=1).faces))
    shy = Restorer(IdentityRestorer(), detector=_ShyDetector(YuNetDetector()), device="cpu")
    cases = [
        (identity_restorer, group, {}),
        (identity_restorer, group, {"only_center_face": True}),
        (identity_restorer, group, {"max_faces": 1, "upscale": 2, "max_output_pixels": 500_000}),
        (shy, photos("hq_photos", 1)[0], {"fallback_threshold": 0.35}),
        (shy, photos("hq_photos", 1)[0], {}),
        (identity_restorer, photos("hq_faces_512", 1)[0], {"aligned": True}),
    ]
    counts = []
    for restorer, path, options in cases:
        plan = restorer.plan(path, **options)
        result = restorer.restore(path, **options)
        assert plan.faces_to_restore == len(result.faces), options
        assert plan.faces_found == result.faces_found and plan.output_size == result.picture.size, options
        assert set(plan.notes) <= set(result.notes)
        counts.append(plan.faces_to_restore)
    assert counts[0] >= 2 and counts[1:] == [1, 1, counts[3], 0, 1] and counts[3] >= 1


@pytest.mark.parametrize("aligned", [False, True])
def test_blend_zero_gives_the_photo_back_exactly_and_one_is_the_full_paste(tiny_restorer, aligned):
    """Blend scales the paste-back: 0 leaves the photo as it was (at 1x, no background network), 1 is
    the restoration as it always was, and between them the faces are part restored."""
    photo = read_image(photos("photos", 1)[0]) if not aligned else read_image(photos("hq_photos", 1)[0])
    options = {"upscale": 1, "upsample_background": False, "aligned": aligned}
    untouched = tiny_restorer.restore(photo, blend=0.0, **options)
    assert (untouched.faces or aligned) and np.array_equal(untouched.picture.rgb, photo.rgb)
    full = tiny_restorer.restore(photo, **options)
    assert np.array_equal(tiny_restorer.restore(photo, blend=1.0, **options).picture.rgb, full.picture.rgb)
    half = tiny_restorer.restore(photo, blend=0.5, **options).picture.rgb
    changed = np.abs(full.picture.rgb - photo.rgb) > 1e-3
    assert changed.any()
    ratio = (half - photo.rgb)[changed] / (full.picture.rgb - photo.rgb)[changed]
    assert 0.0 < float(np.median(ratio)) < 1.0


@pytest.mark.photos
def test_restore_many_batches_faces_across_images_and_equals_restore(tiny_restorer):
    """restore_many: the faces of several photos in shared batches, each result equal to restore()'s
    (a grey photo stays grey), and a file that cannot be decoded fails alone, in its place."""
    images = [*photos("photos", 2), b"not an image", *photos("hq_photos", 1)]
    grey = np.asarray(Image.open(photos("hq_photos", 2)[1]).convert("L"))
    images.append(grey)
    options = RestoreOptions(upscale=1.5, batch_size=4)
    results = tiny_restorer.restore_many(images, options)
    assert isinstance(results[2], GFPGANError) and "\n" not in str(results[2])
    for image, result in zip(images, results, strict=True):
        if isinstance(image, bytes):
            continue
        alone = tiny_restorer.restore(image, options)
        assert len(result.faces) == len(alone.faces) >= 1
        assert np.array_equal(result.image, alone.image)
        assert result.picture.grayscale == alone.picture.grayscale and result.timings["restore"] > 0


def test_sizes_are_said_plainly_when_a_photo_is_reduced_or_enlarged_less(identity_restorer, tmp_path):
    """A JPEG above the restoring limit decodes reduced (DCT scaling): the notes give both sizes and why,
    and an upscale lowered for the output limit is said with both factors, never as x1.41421."""
    path = tmp_path / "big.jpg"
    Image.fromarray(rgb_uint8(3000, 4000)).save(path, quality=90)
    options = RestoreOptions(upscale=2, max_input_pixels=3_000_000, max_output_pixels=6_000_000)
    result = identity_restorer.restore(path, options)
    assert result.picture.size == (2828, 2121)
    notes = " ".join(result.notes)
    assert "The image (4000x3000) was reduced to 2000x1500 before restoring, to fit the 3 MP limit." in notes
    assert "Enlarged x1.41 instead of x2, to keep the output under 6 MP." in notes
