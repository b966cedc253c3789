"""GFPGAN face restoration: the Gradio demo (runs locally and as a Hugging Face Space).

    python app.py                      # http://127.0.0.1:7860
    python app.py --host 0.0.0.0 --port 8080 --share
    python app.py --model-path my_finetuned.pth

Thin by design: the page and its wiring live here; all restoration is ``gfpgan_core``.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported

import argparse
import logging
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np

from gfpgan_core import GFPGANError, RestoreOptions, load_picture, write_image
from gfpgan_core.images import Picture, resize
from gfpgan_core.service import ModelService

log = logging.getLogger("gfpgan_app")
HERE = Path(__file__).resolve().parent
EXAMPLES = sorted(str(p) for p in (HERE / "examples").glob("*.jpg"))
OUTPUT_ROOT = Path(tempfile.gettempdir()) / "gfpgan-app-outputs"


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass(frozen=True)
class Limits:
    """What one request may cost; each overridable by an environment variable."""

    max_file_size: str = os.environ.get("GFPGAN_MAX_FILE_SIZE", "25mb")
    max_input_pixels: int = _env_int("GFPGAN_MAX_PIXELS", 16_000_000)  # larger images are downscaled
    max_output_pixels: int = _env_int("GFPGAN_MAX_OUTPUT_PIXELS", 40_000_000)
    max_faces: int = _env_int("GFPGAN_MAX_FACES", 40)
    timeout_s: int = _env_int("GFPGAN_TIMEOUT", 300)
    queue_size: int = _env_int("GFPGAN_QUEUE_SIZE", 16)
    preview_side: int = 1600  # the before/after slider shows at most this; the download is full size
    keep_outputs_s: int = 600


class RequestTimeout(GFPGANError):
    pass


def _sweep_outputs(max_age: float) -> None:
    """Delete this app's output folders older than ``max_age`` seconds (nothing is kept for long)."""
    if not OUTPUT_ROOT.is_dir():
        return
    now = time.time()
    for folder in OUTPUT_ROOT.iterdir():
        try:
            if now - folder.stat().st_mtime > max_age:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass


def _preview(rgb: np.ndarray, size: tuple[int, int]) -> Picture:
    return Picture(np.ascontiguousarray(resize(rgb, size), dtype=np.float32))


def _fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    f = min(1.0, side / max(size))
    return max(1, round(size[0] * f)), max(1, round(size[1] * f))

from gradio.events import Dependency

class PhotoInput(gr.Image):
    """gr.Image whose preprocessing failures (a file that is not an image, a decompression bomb)
    reach the caller as one readable line instead of Gradio's internal error."""

    @classmethod
    def get_block_name(cls) -> str:
        return "image"  # the same front-end component

    def preprocess(self, payload):  # type: ignore[override]
        from PIL import Image

        try:
            return super().preprocess(payload)
        except Image.DecompressionBombError:
            raise gr.Error("The image is too large to decode safely.") from None
        except Exception:
            raise gr.Error("The file is not an image that can be read.") from None
    from typing import Callable, Literal, Sequence, Any, TYPE_CHECKING
    from gradio.blocks import Block
    if TYPE_CHECKING:
        from gradio.components import Timer
        from gradio.components.base import Component


def build_demo(service: ModelService, limits: Limits = Limits()) -> gr.Blocks:
    default_key, default_reason = service.default_model()
    choices = [(c.label, c.key) for c in service.choices()]

    def restore(image_path, model_key, rescale, weight, only_center_face, background, detector, progress=gr.Progress()):
        """Restore every face in a photo. Returns the restored PNG, a gallery of face pairs, a summary and a before/after pair."""
        _sweep_outputs(limits.keep_outputs_s)
        if not image_path:
            raise gr.Error("Please upload an image first.")
        if not model_key:
            raise gr.Error(default_reason)
        started = time.perf_counter()

        def on_progress(stage: str, done: int, total: int) -> None:
            if time.perf_counter() - started > limits.timeout_s:
                raise RequestTimeout(f"This image took longer than {limits.timeout_s} s; try a smaller image or fewer faces.")
            if stage == "detect":
                progress(0.05 + 0.05 * done, desc="Detecting faces")
            elif stage == "restore":
                progress(0.1 + 0.7 * done / max(total, 1), desc=f"Restoring face {done}/{total}")
            elif stage == "upsample":
                progress(0.8 + 0.1 * done, desc="Upsampling the background")
            elif stage == "paste":
                progress(0.9 + 0.1 * done, desc="Pasting faces back")

        try:
            progress(0.0, desc="Loading the model")
            restorer = service.get(model_key, detector=detector, background="auto")
            options = RestoreOptions(
                upscale=float(rescale),
                weight=float(weight),
                only_center_face=bool(only_center_face),
                background=bool(background),
                max_faces=limits.max_faces,
                max_input_pixels=limits.max_input_pixels,
                max_output_pixels=limits.max_output_pixels,
            )
            picture = load_picture(image_path)
            result = restorer.restore(picture, options, progress=on_progress)
        except GFPGANError as exc:
            raise gr.Error(str(exc)) from None
        except MemoryError:
            raise gr.Error("Not enough memory for this image; try a smaller one or a lower rescale factor.") from None
        except Exception as exc:  # the server keeps serving whatever happens
            log.exception("restore failed")
            raise gr.Error(f"Restoration failed ({type(exc).__name__}); the server is fine, please try another image.") from None

        out_dir = OUTPUT_ROOT / uuid.uuid4().hex
        restored_png = write_image(out_dir / f"{Path(image_path).stem}_restored.png", result.picture)
        out_size = result.picture.size
        preview = _fit(out_size, limits.preview_side)
        before = write_image(out_dir / "before.png", _preview(picture.rgb, preview))
        after = write_image(out_dir / "after.png", _preview(result.picture.rgb, preview))
        gallery = []
        for i, face in enumerate(result.faces, 1):
            pair = np.concatenate([face.input_crop, face.restored_crop], axis=1).astype(np.float32) / 255
            path = write_image(out_dir / f"face_{i:02d}.png", Picture(pair))
            w, h = (face.box[2] - face.box[0]), (face.box[3] - face.box[1])
            gallery.append((str(path), f"Face {i} · score {face.score:.2f} · {w:.0f}×{h:.0f} px (input | restored)"))
        n = len(result.faces)
        summary = (
            f"**{n} face{'s' if n != 1 else ''} found** · {result.timings.get('total', 0):.1f} s · "
            f"{restorer.device.type.upper()}{' fp16' if restorer.half else ''} · model {restorer.model_name} · "
            f"{out_size[0]}×{out_size[1]} px output (×{result.upscale:g})"
        )
        notes = result.notes + ([] if n else ["The whole image was still upscaled."])
        if notes:
            summary += "\n\n" + " ".join(notes)
        return str(restored_png), gallery, summary, (str(before), str(after))

    with gr.Blocks(title="GFPGAN face restoration", analytics_enabled=False, delete_cache=(300, limits.keep_outputs_s)) as demo:
        gr.Markdown(
            "# GFPGAN face restoration\n"
            "Upload an old, blurry or low-resolution photo: every face is restored with a pretrained face GAN prior "
            "([GFPGAN](https://arxiv.org/abs/2101.04061), Wang et al., CVPR 2021) and the rest of the picture is upscaled."
        )
        status = gr.Markdown(f"Model in use by default: **{default_key or 'none'}** — {default_reason}.", elem_id="model-status")
        with gr.Row():
            with gr.Column(scale=1):
                image_in = PhotoInput(
                    type="filepath", image_mode=None, sources=["upload", "clipboard", "webcam"], label="Photo", elem_id="input-image"
                )
                model = gr.Dropdown(choices=choices, value=default_key, label="Model", elem_id="model")
                rescale = gr.Slider(1, 4, value=2, step=0.5, label="Rescaling factor")
                weight = gr.Slider(0, 1, value=1.0, step=0.05, label="Fidelity weight (0 = keep the input face, 1 = full restoration)")
                with gr.Accordion("Advanced", open=False):
                    only_center = gr.Checkbox(False, label="Only the centre face")
                    background = gr.Checkbox(True, label="Upsample the background (Real-ESRGAN when available, else Lanczos)")
                    detector = gr.Radio(["auto", "retinaface", "yunet"], value="auto", label="Face detector")
                run = gr.Button("Restore", variant="primary", elem_id="restore-button")
            with gr.Column(scale=2):
                summary = gr.Markdown(elem_id="summary")
                slider = gr.ImageSlider(label="Before / after", type="filepath", format="png", elem_id="slider")
                gallery = gr.Gallery(label="Faces (input | restored)", columns=3, format="png", elem_id="faces")
                download = gr.File(label="Restored image (PNG, full resolution)", elem_id="download")
        if EXAMPLES:
            gr.Examples(EXAMPLES, inputs=[image_in], label="Examples (public-domain portraits, degraded on purpose)")
        run.click(
            restore,
            inputs=[image_in, model, rescale, weight, only_center, background, detector],
            outputs=[download, gallery, summary, slider],
            api_name="restore",
        )
        model.change(lambda key: f"Model selected: **{key}**.", inputs=model, outputs=status, api_name=False)
    return demo


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    on_space = bool(os.environ.get("SPACE_ID"))
    p = argparse.ArgumentParser(description="GFPGAN face restoration demo")
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0" if on_space else "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", os.environ.get("PORT", 7860))))
    p.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    p.add_argument("--model-path", default=os.environ.get("GFPGAN_MODEL_PATH"), help="a local checkpoint offered as 'custom'")
    p.add_argument("--device", default=os.environ.get("GFPGAN_DEVICE", "auto"))
    p.add_argument("--weights-dir", default=os.environ.get("GFPGAN_WEIGHTS_DIR"))
    p.add_argument("--concurrency", type=int, default=None, help="requests processed at once (default: 1 on CPU, 2 on GPU)")
    p.add_argument("--no-warm-up", action="store_true", help="load the model on the first request instead of at start")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    import torch

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parse_args(argv)
    limits = Limits()
    try:
        service = ModelService(args.model_path, device=args.device, weights_dir=args.weights_dir, log=log.info)
    except GFPGANError as exc:
        raise SystemExit(f"error: {exc}") from None
    if not args.no_warm_up:
        threading.Thread(target=service.warm_up, daemon=True).start()
    demo = build_demo(service, limits)
    concurrency = args.concurrency or (2 if torch.cuda.is_available() else 1)
    demo.queue(max_size=limits.queue_size, default_concurrency_limit=concurrency)
    demo.launch(
        server_name=args.host,
        server_port=args.port,
        share=args.share,
        max_file_size=limits.max_file_size,
        show_error=True,
        footer_links=["api"],
    )


if __name__ == "__main__":
    main()