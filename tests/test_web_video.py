"""The app's video: the work behind ``/restore_video`` (caps, Stop, the time limit, the estimate),
and the endpoint from gradio_client and raw HTTP, hostile clips included."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from conftest import REPO, running_app
from gfpgan_core.errors import GFPGANError
from gfpgan_core.video.synthetic import moving_frames, scene, write_clip
from gfpgan_core.web import clips, jobs, settings, state

av = pytest.importorskip("av")
EXAMPLE_CLIP = REPO / "examples" / "grace_hopper_moving.mp4"


@pytest.fixture
def context(tmp_path, tiny_checkpoint, monkeypatch):
    from gfpgan_core.service import ModelService

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "cache"))
    service = ModelService(custom_model=tiny_checkpoint, weights_dir=tmp_path, download=False)
    return jobs.Context(service, limits=settings.Limits(max_video_seconds=1.0))


def run(context, clip, steady=True, stop_after: int | None = None):
    token = context.stops.start("visitor", "restore_video")
    shown = []

    def bar(fraction, desc=""):
        shown.append(desc)
        if stop_after is not None and len(shown) >= stop_after:
            context.stops.ask("visitor")

    job = jobs.Job(context, "visitor", bar, token=token)
    options = clips.face_options(context.limits, None, False, None)
    try:
        return clips.restore_clip(job, str(clip), "custom", options, "yunet", steady), shown
    finally:
        context.stops.finish(token)


def frames_and_sound(path: str) -> tuple[int, float, float]:
    with av.open(path) as c:
        frames = sum(1 for _ in c.decode(video=0))
    with av.open(path) as c:
        stream = c.streams.audio[0]
        sound = sum(f.samples for f in c.decode(audio=0)) / stream.codec_context.sample_rate
        return frames, sound, float(c.duration / 1e6)


def test_a_clip_is_cut_at_the_servers_length_and_says_so(context):
    result, shown = run(context, EXAMPLE_CLIP)  # 2 s; the server takes 1 s
    assert result.video == result.video_download and Path(result.video).name == "grace_hopper_moving_restored.mp4"
    frames, sound, _ = frames_and_sound(result.video)
    assert frames == 25 and sound == pytest.approx(1.0, abs=0.05)  # the sound cut with the frames
    assert result.video_summary.startswith("**25 frames (1.0 s) restored, 25 faces in all**")
    assert "This server restores the first 1 s of a clip; this one is 2 s." in result.video_summary
    assert shown[0] == "Frame 1 of 25" and shown[-1] == "Frame 25 of 25"
    assert not list(Path(result.video).parent.glob(".*"))  # no staging folder left


def test_stop_leaves_nothing_and_the_time_limit_keeps_what_was_done(context):
    with pytest.raises(jobs.RequestStopped, match="Stopped"):
        run(context, EXAMPLE_CLIP, stop_after=3)
    from gfpgan_core.web.outputs import results_root

    assert not any(results_root().glob("*/*"))  # the stopped run's folder is gone
    timed = jobs.Context(context.service, limits=settings.Limits(video_timeout_s=0))
    result, _ = run(timed, EXAMPLE_CLIP)
    assert "The time limit (0 s) was reached" in result.video_summary
    assert frames_and_sound(result.video)[0] >= 1


def test_clips_over_the_caps_and_files_that_are_not_clips_are_one_line(context, tmp_path):
    big = write_clip(tmp_path / "big.mp4", [np.zeros((480, 640, 3), np.uint8)] * 2, audio=None)
    small_frames = jobs.Context(context.service, limits=settings.Limits(max_video_pixels=320 * 240))
    with pytest.raises(GFPGANError, match=r"big.mp4 is 640x480; this server restores videos up to 0.1 MP a frame"):
        run(small_frames, big)
    photo = tmp_path / "photo.mp4"
    photo.write_bytes((REPO / "examples" / "astronaut_degraded.jpg").read_bytes())
    with pytest.raises(GFPGANError, match="still image, not a video"):
        run(context, photo)
    junk = tmp_path / "junk.mov"
    junk.write_bytes(b"\x00" * 5000)
    with pytest.raises(GFPGANError, match="not a video FFmpeg can read"):
        run(context, junk)
    with pytest.raises(GFPGANError, match="Please upload a video first"):
        run(context, "")


def test_a_full_disk_is_one_line_and_leaves_nothing(context, monkeypatch):
    import errno

    from gfpgan_core.web.outputs import results_root

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(clips.VideoRestorer, "restore", full)
    with pytest.raises(GFPGANError, match=r"^The server is out of disk space; please try again in a few minutes\.$"):
        run(context, EXAMPLE_CLIP)
    assert not any(results_root().glob("*"))


def test_before_restore_the_page_says_what_a_clip_holds_and_how_long_it_takes(context, tmp_path):
    options = clips.face_options(context.limits, None, False, None)
    first = clips.clip_estimate(context, str(EXAMPLE_CLIP), "custom", options, "yunet")
    assert first.startswith("**480x360, 25 fps, 2.0 s, h264, sound: aac; 1 face in its first frame** — press Restore.")
    assert "about" not in first and "the first 1 s of a clip" in first  # nothing measured yet
    context.costs.update_video(frames=25, faces=25, seconds=5.0)
    assert " · about 5 s on this server" in clips.clip_estimate(context, str(EXAMPLE_CLIP), "custom", options, "yunet")
    photo = tmp_path / "photo.mp4"
    photo.write_bytes((REPO / "examples" / "astronaut_degraded.jpg").read_bytes())
    said = clips.clip_estimate(context, str(photo), "custom", options, "yunet")
    assert said == "**This file cannot be restored:** photo.mp4 is a still image, not a video: restore it as a photo."


def test_the_cost_model_learns_a_frames_time_beyond_its_faces():
    costs = state.CostModel(smoothing=1.0)
    assert costs.estimate_video(100, 1, 1e6) is None
    costs.face_s = 0.5
    costs.update_video(frames=10, faces=10, seconds=6.0)  # 0.5 s of faces and 0.1 s else a frame
    assert costs.frame_s == pytest.approx(0.1)
    assert costs.estimate_video(100, 2, 1e6) == pytest.approx(100 * (2 * 0.5 + 0.1))


# ---------------------------------------------------------------------------------------------- the server
def _upload(url: str, path: Path) -> str:
    with path.open("rb") as f:
        return httpx.post(f"{url}gradio_api/upload", files={"files": (path.name, f)}, timeout=30).json()[0]


def _call(url: str, data: list) -> tuple[str | None, object]:
    """POST /gradio_api/call/restore_video and read its event stream: (last event, its data)."""
    start = httpx.post(f"{url}gradio_api/call/restore_video", json={"data": data}, timeout=30)
    if start.status_code != 200:
        return f"refused {start.status_code}", start.json()
    event = None
    with httpx.stream("GET", f"{url}gradio_api/call/restore_video/{start.json()['event_id']}", timeout=300) as s:
        for line in s.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                return event, json.loads(line.split(":", 1)[1])
    return event, None


@pytest.fixture(scope="module")
def video_server(tmp_path_factory):
    env = {"GFPGAN_VIDEO_MAX_SECONDS": "1", "GFPGAN_VIDEO_MAX_PIXELS": str(1280 * 720), "GFPGAN_CACHE_EXAMPLES": "0"}
    with running_app(tmp_path_factory.mktemp("video"), env=env) as app:
        yield app


@pytest.mark.slow
def test_restore_video_from_gradio_client(video_server, tmp_path):
    from gradio_client import Client, handle_file

    client = Client(video_server.url, verbose=False)
    video, download, summary = client.predict(
        video_path=handle_file(str(EXAMPLE_CLIP)), model_key="custom", api_name="/restore_video"
    )
    played = video["video"] if isinstance(video, dict) else video
    assert Path(played).suffix == ".mp4" and Path(download).name == "grace_hopper_moving_restored.mp4"
    frames, sound, _ = frames_and_sound(download)
    assert frames == 25 and sound == pytest.approx(1.0, abs=0.05)
    assert "25 frames (1.0 s) restored" in summary and "the first 1 s of a clip" in summary


@pytest.mark.slow
def test_restore_video_through_raw_http_refuses_what_it_should_in_one_line(video_server, tmp_path):
    url = video_server.url
    args = ["custom", None, False, "auto", None, True]
    file = {"meta": {"_type": "gradio.FileData"}}
    event, data = _call(url, [{"path": _upload(url, EXAMPLE_CLIP), **file}, *args])
    assert event == "complete", data
    assert "25 frames (1.0 s) restored" in data[2]  # type: ignore[index]
    hostile = {
        "not a video": (tmp_path / "notes.mp4", "not a video FFmpeg can read"),
        "a photo": (tmp_path / "photo.mov", "still image, not a video"),
        "8K frames": (tmp_path / "eight_k.mp4", "is 7680x4320; this server restores videos up to 0.9 MP a frame"),
        "truncated": (tmp_path / "cut.mkv", "Only the frames that decode were restored"),
        "an hour long": (tmp_path / "hour.mp4", "This server restores the first 1 s of a clip; this one is 3600 s."),
        "sound only": (tmp_path / "sound.m4a", "sound.m4a has no video stream."),
    }
    with av.open(str(hostile["sound only"][0]), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=48_000)
        tone = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        tone.sample_rate = 48_000
        for packet in [*stream.encode(tone), *stream.encode(None)]:
            out.mux(packet)
    hostile["not a video"][0].write_text("not a video at all")
    hostile["a photo"][0].write_bytes((REPO / "examples" / "astronaut_degraded.jpg").read_bytes())
    # a decompression bomb's kind: 7680x4320 frames of one colour, a few kilobytes on disk
    write_clip(hostile["8K frames"][0], [np.full((4320, 7680, 3), 90, np.uint8)], audio=None)
    whole = tmp_path / "whole.mkv"
    still = scene(np.asarray(Image.open(REPO / "examples" / "grace_hopper_degraded.jpg")), (320, 240))
    write_clip(whole, list(moving_frames(still, [k / 25 for k in range(20)])))
    data_bytes = whole.read_bytes()
    hostile["truncated"][0].write_bytes(data_bytes[: len(data_bytes) * 2 // 3])
    gray = np.full((64, 64, 3), 128, np.uint8)
    write_clip(hostile["an hour long"][0], (gray for _ in range(3600)), rate=1, audio=None)  # 1 frame a second
    for what, (path, said) in hostile.items():
        event, data = _call(url, [{"path": _upload(url, path), **file}, *args])
        message = data[2] if event == "complete" else (data or {}).get("error", "")  # type: ignore[index,union-attr]
        assert said in str(message), (what, event, data)
        assert "\n" not in str(message) or event == "complete", what
    assert _call(url, [{"path": "/etc/hostname", **file}, *args])[0].startswith("refused")  # never uploaded
    assert httpx.get(f"{url}gradio_api/info", timeout=30).status_code == 200  # still serving
