"""Video: clips made here (a moving face from examples/, a sine-wave sound) in the containers users
send, restored and checked for what they carry: frames, timing, sound, rotation, colour; resume
after a kill; hostile files."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gfpgan_core.errors import GFPGANError, ImageError, OptionsError
from gfpgan_core.options import RestoreOptions
from gfpgan_core.video import VideoOptions, VideoRestorer, probe
from gfpgan_core.video.synthetic import moving_frames, scene, write_clip
from gfpgan_core.video.tracking import FaceTracker, OneEuroFilter, TrackerSettings

av = pytest.importorskip("av")
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
RATE = 25


@pytest.fixture(scope="module")
def face_scene() -> np.ndarray:
    photo = np.asarray(Image.open(EXAMPLES / "grace_hopper_degraded.jpg").convert("RGB"))
    return scene(photo, (320, 240))


def frames_of(scene_rgb: np.ndarray, n: int) -> list[np.ndarray]:
    return list(moving_frames(scene_rgb, [k / RATE for k in range(n)]))


def contents(path: Path) -> dict:
    """What a player finds in ``path``: each frame's time, the sound's length, rotation, colour range."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = list(container.decode(video=0))
        times = [float(f.pts * video.time_base) for f in frames]
        info = {
            "times": times,
            "rotation": frames[0].rotation,
            "range": int(frames[0].color_range),
            "first": frames[0],
            "size": (frames[0].width, frames[0].height),
            "audio": [s.codec_context.name for s in container.streams.audio],
        }
    with av.open(str(path)) as container:
        if container.streams.audio:
            stream = container.streams.audio[0]
            samples = sum(f.samples for f in container.decode(audio=0))
            info["audio_s"] = samples / stream.codec_context.sample_rate
    return info


def restorer_for(restorer, **video) -> VideoRestorer:
    return VideoRestorer(restorer, RestoreOptions(upscale=1.0), VideoOptions(**video))


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("h264_aac.mp4", {}),
        ("pcm.mp4", {"audio": "pcm_s16le"}),  # PCM cannot be copied into MP4 output as it is: AAC
        ("clip.mkv", {}),
        ("rotated.mov", {"rotation": 90}),
    ],
)
def test_a_clip_keeps_its_frames_timing_sound_and_rotation(tmp_path, identity_restorer, face_scene, name, options):
    clip = write_clip(tmp_path / name, frames_of(face_scene, 30), RATE, **options)
    output = tmp_path / f"restored{Path(name).suffix}"
    result = restorer_for(identity_restorer, segment_s=0.5).restore(clip, output)
    before, after = contents(clip), contents(output)
    assert len(after["times"]) == len(before["times"]) == result.frames == 30
    assert np.allclose(after["times"], before["times"], atol=1e-3)  # the clip's own timestamps
    assert after["rotation"] == before["rotation"] and after["size"] == before["size"]
    assert after["audio"] and after["audio_s"] == pytest.approx(before["audio_s"], abs=1 / RATE + 0.03)
    assert result.faces >= 25  # the face is found in (nearly) every frame
    if options.get("audio") == "pcm_s16le":
        assert after["audio"] == ["aac"] and any("re-encoded" in n for n in result.notes)
    assert not list(tmp_path.glob(".*"))  # no staging folder or temporary file left behind


def test_variable_frame_rate_keeps_every_frame_at_its_time(tmp_path, identity_restorer, face_scene):
    times = [0.0, 0.04, 0.1, 0.12, 0.2, 0.31, 0.33, 0.45, 0.5, 0.62]
    clip = write_clip(tmp_path / "vfr.mp4", moving_frames(face_scene, times), RATE, times=times)
    out = tmp_path / "out.mp4"
    restorer_for(identity_restorer).restore(clip, out)
    assert np.allclose(contents(out)["times"], contents(clip)["times"], atol=1e-3)


@pytest.mark.parametrize("color_range", ["MPEG", "JPEG"])
def test_a_grey_card_keeps_its_value_and_range(tmp_path, identity_restorer, color_range):
    grey = [np.full((120, 160, 3), 110, np.uint8)] * 5  # no face: the frame passes through the pipeline
    clip = write_clip(tmp_path / "grey.mp4", grey, RATE, audio=None, color_range=color_range, colorspace="ITU709")
    out = tmp_path / "out.mp4"
    restorer_for(identity_restorer).restore(clip, out)
    before, after = contents(clip), contents(out)
    assert after["range"] == before["range"]
    luma = lambda f: float(f.to_ndarray(format="gray")[8:-8, 8:-8].mean())  # noqa: E731  (the coded Y plane)
    assert luma(after["first"]) == pytest.approx(luma(before["first"]), abs=1.0)


def test_odd_sizes_are_cropped_by_a_pixel_and_said(tmp_path, identity_restorer):
    clip = write_clip(tmp_path / "odd.mkv", [np.full((120, 160, 3), 90, np.uint8)] * 3, RATE, codec="ffv1")
    options = VideoOptions()
    restorer = VideoRestorer(identity_restorer, RestoreOptions(upscale=1.5), options)  # 240x180 -> even already
    assert restorer.restore(clip, tmp_path / "a.mp4").frames == 3
    odd = write_clip(tmp_path / "odd2.mkv", [np.full((121, 161, 3), 90, np.uint8)] * 3, RATE, codec="ffv1")
    result = restorer_for(identity_restorer).restore(odd, tmp_path / "b.mp4")
    assert contents(tmp_path / "b.mp4")["size"] == (160, 120) and any("even sides" in n for n in result.notes)


def test_a_part_of_the_clip_and_its_sound(tmp_path, identity_restorer, face_scene):
    clip = write_clip(tmp_path / "long.mp4", frames_of(face_scene, 50), RATE)
    out = tmp_path / "part.mp4"
    result = restorer_for(identity_restorer, start_s=0.4, max_seconds=1.0).restore(clip, out)
    after = contents(out)
    assert result.frames == len(after["times"]) == 25 and after["times"][0] == pytest.approx(0, abs=1e-3)
    assert after["audio_s"] == pytest.approx(1.0, abs=0.05)


def test_a_killed_run_resumes_from_its_last_whole_segment(tmp_path, identity_restorer, face_scene):
    clip = write_clip(tmp_path / "clip.mp4", frames_of(face_scene, 40), RATE)
    out = tmp_path / "out.mp4"
    seen = []

    def kill_at_frame_25(done, total):
        seen.append(done)
        if done == 25:
            raise KeyboardInterrupt  # Ctrl-C part way through the third segment

    with pytest.raises(KeyboardInterrupt):
        restorer_for(identity_restorer, segment_s=0.4).restore(clip, out, progress=kill_at_frame_25)
    assert not out.exists() and not list(tmp_path.glob(".out.mp4.parts/*.part"))  # nothing half-written
    result = restorer_for(identity_restorer, segment_s=0.4).restore(clip, out)
    assert result.resumed_frames == 20 and result.frames == 40  # two whole segments of 10 frames kept
    whole = tmp_path / "whole.mp4"
    restorer_for(identity_restorer, segment_s=0.4).restore(clip, whole)
    assert np.allclose(contents(out)["times"], contents(whole)["times"])
    assert not (tmp_path / ".out.mp4.parts").exists()


def test_stop_ends_the_run_and_leaves_no_output(tmp_path, identity_restorer, face_scene):
    clip = write_clip(tmp_path / "clip.mp4", frames_of(face_scene, 10), RATE)
    with pytest.raises(GFPGANError, match="Stopped"):
        restorer_for(identity_restorer).restore(clip, tmp_path / "out.mp4", stopped=lambda: True)
    assert not (tmp_path / "out.mp4").exists()


def test_hostile_files_are_one_line(tmp_path, identity_restorer, face_scene):
    restorer = restorer_for(identity_restorer)
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all")
    with pytest.raises(ImageError, match="not a video"):
        restorer.restore(text, tmp_path / "a.mp4")
    sound_only = tmp_path / "sound.m4a"
    with av.open(str(sound_only), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=48_000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 48_000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    with pytest.raises(ImageError, match="no video stream"):
        restorer.restore(sound_only, tmp_path / "b.mp4")
    clip = write_clip(tmp_path / "clip.mp4", frames_of(face_scene, 10), RATE)
    with pytest.raises(OptionsError, match="overwrite"):
        restorer.restore(clip, clip)
    with pytest.raises(OptionsError, match="must end in"):
        restorer.restore(clip, tmp_path / "out.gif")
    big = restorer_for(identity_restorer, max_pixels=320 * 200)
    with pytest.raises(ImageError, match="up to"):
        big.restore(clip, tmp_path / "c.mp4")


def test_a_truncated_clip_restores_what_decodes(tmp_path, identity_restorer, face_scene):
    clip = write_clip(tmp_path / "clip.mkv", frames_of(face_scene, 40), RATE)
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(clip.read_bytes()[: clip.stat().st_size * 6 // 10])
    result = restorer_for(identity_restorer).restore(cut, tmp_path / "out.mp4")
    assert 5 < result.frames < 40 and len(contents(tmp_path / "out.mp4")["times"]) == result.frames
    assert any(note.startswith("Only the frames that decode were restored") for note in result.notes), result.notes


def test_memory_does_not_grow_with_the_clip(tmp_path, identity_restorer, face_scene):
    """Python's allocations at their peak (numpy's included: every decoded frame is one) while restoring
    a 1 s and a 6 s clip: one frame at a time, so the same; a restorer that held the clip (CodeFormer's
    script) would add 230 KB a frame here, 29 MB over the longer clip. The benchmark measures the
    process's whole peak (FFmpeg's buffers too) on a 5-minute clip."""
    import tracemalloc

    peaks = {}
    for seconds in (1, 6):
        clip = write_clip(
            tmp_path / f"{seconds}s.mp4", moving_frames(face_scene, [k / RATE for k in range(seconds * RATE)])
        )
        tracemalloc.start()
        try:
            restorer_for(identity_restorer).restore(clip, tmp_path / f"out{seconds}.mp4")
            peaks[seconds] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peaks[6] < 1.2 * peaks[1] + 2e6, peaks


def test_the_tracker_bridges_a_missed_frame_and_resets_at_a_cut(identity_restorer, face_scene):
    plan = identity_restorer.plan(face_scene)
    assert len(plan.faces) == 1
    tracker = FaceTracker()
    first = tracker.update(plan.faces, 0.0, face_scene)
    bridged = tracker.update([], 0.04, face_scene)  # the detector missed the face for a frame
    assert len(first) == len(bridged) == 1 and np.allclose(first[0].landmarks, bridged[0].landmarks)
    tracker.update([], 0.08, face_scene)
    assert tracker.update([], 0.12, face_scene) == []  # gone for more than max_gap frames
    tracker.update(plan.faces, 0.16, face_scene)
    tracker.update(plan.faces, 0.2, 255 - face_scene)  # a different picture: a new scene
    assert tracker.cuts == 1 and tracker.tracks[0].id == 3


def test_the_one_euro_filter_is_steady_when_still_and_follows_motion():
    settings = TrackerSettings()  # as shipped
    noise = 0.005  # face sizes: a pixel on a 200-pixel face
    ratios = []
    for seed in range(5):  # one draw of noise is a noisy measure of its own: 0.24 to 0.51 here
        smoother = OneEuroFilter(settings.min_cutoff, settings.beta, settings.d_cutoff)
        raw = 10.0 + np.random.default_rng(seed).normal(0, noise, 60)
        still = [smoother(np.array([x]), k / RATE)[0] for k, x in enumerate(raw)]
        ratios.append(np.std(still[10:]) / np.std(raw[10:]))
    assert np.mean(ratios) < 0.5, ratios  # the jitter of a still face halved or better
    moving = [smoother(np.array([10.0 + 2 * k / RATE]), k / RATE + 2)[0] for k in range(50)]
    assert abs(moving[-1] - (10 + 2 * 49 / RATE)) < 0.2  # a moving face is followed, not left behind


def test_probe_describes_a_clip(tmp_path, face_scene):
    clip = write_clip(tmp_path / "r.mov", frames_of(face_scene, 10), RATE, rotation=90)
    info = probe(clip)
    assert info.rate == Fraction(RATE) and info.audio == ["aac"]
    assert (info.width, info.height) == (240, 320) and info.display_size == (320, 240)  # coded turned, shown upright
    assert "320x240" in info.describe()


def test_the_command_line_stopped_with_ctrl_c_resumes(tmp_path, tiny_checkpoint, face_scene):
    import os
    import signal
    import subprocess
    import sys
    import time

    from conftest import REPO

    clip = write_clip(tmp_path / "clip.mp4", frames_of(face_scene, 150), RATE)
    out = tmp_path / "restored.mp4"
    command = [sys.executable, "-m", "gfpgan_core", "video", "-i", str(clip), "-o", str(out)]
    command += ["--model-path", str(tiny_checkpoint), "--no-download", "--segment-seconds", "0.4"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    # Ctrl-C as at a terminal, whatever this process inherited (a background job of a non-interactive
    # shell ignores SIGINT, and its children with it: the rehearsal of CI, 2026-12-07)
    at_a_terminal = [
        sys.executable,
        "-c",
        "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "sys.argv[0] = 'gfpgan_core'; runpy.run_module('gfpgan_core', run_name='__main__')",
        *command[3:],
    ]
    run = subprocess.Popen(at_a_terminal, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    staging = tmp_path / ".restored.mp4.parts"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(staging.glob("segment_*.mp4"))) < 2 and run.poll() is None:
        time.sleep(0.05)
    run.send_signal(signal.SIGINT)  # Ctrl-C
    _, stderr = run.communicate(timeout=60)
    assert run.returncode != 0 and "Traceback" not in stderr, stderr
    assert not out.exists() and not list(staging.glob("*.part"))  # nothing half-written
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "resuming after" in done.stderr and "150 frames" in done.stderr
    assert len(contents(out)["times"]) == 150 and not staging.exists()
