"""The command line run as a new user would: a folder of real photos, an official-format checkpoint."""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from conftest import REPO, photos, published_layout


def _run(*args, timeout=600):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "gfpgan_core", *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def _input_folder(tmp_path, files=()):
    """``tmp_path/in`` holding copies of ``files``: the CLI must never write to a user's folder."""
    src = tmp_path / "in"
    src.mkdir()
    for p in files:
        shutil.copy(p, src / p.name)
    return src


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_restore_a_folder_of_photos(tmp_path, tiny_checkpoint):
    chosen = photos("photos", 5) + photos("hq_photos", 2)
    src = _input_folder(tmp_path, chosen)
    (src / "notes.txt").write_text("not an image")  # ignored: not an image extension
    (src / "broken.jpg").write_bytes(b"this is not a jpeg")
    before = _digest(src)
    out = tmp_path / "out"
    proc = _run("-i", src, "-o", out, "--model-path", tiny_checkpoint, "-s", 2, "--no-download")
    assert proc.returncode == 1, proc.stderr  # one bad file
    assert "skipped broken.jpg" in proc.stderr and "Traceback" not in proc.stderr
    assert _digest(src) == before  # inputs untouched
    for p in chosen:
        restored = out / "restored_imgs" / p.name
        w, h = Image.open(p).size
        assert Image.open(restored).size == (2 * w, 2 * h)
    crops = sorted((out / "cropped_faces").iterdir())
    assert len(crops) >= len(chosen) - 1
    assert len(list((out / "restored_faces").iterdir())) == len(crops) == len(list((out / "cmp").iterdir()))
    assert Image.open(out / "cmp" / crops[0].name).size == (128, 64)


def test_single_file_suffix_and_extension(tmp_path, tiny_checkpoint):
    photo = photos("hq_photos", 1)[0]
    proc = _run(
        "-i",
        photo,
        "-o",
        tmp_path,
        "--model-path",
        tiny_checkpoint,
        "-s",
        1,
        "--suffix",
        "_r",
        "--ext",
        "png",
        "--no-download",
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "restored_imgs" / f"{photo.stem}_r.png").is_file()
    assert "Restored 1 of 1 image (1 face)" in proc.stderr


def test_never_overwrites_the_input(tmp_path, tiny_checkpoint):
    folder = tmp_path / "restored_imgs"
    folder.mkdir()
    photo = folder / "a.jpg"
    shutil.copy(photos("hq_photos", 1)[0], photo)
    before = photo.read_bytes()
    proc = _run("-i", photo, "-o", tmp_path, "--model-path", tiny_checkpoint, "-s", 1, "--no-download")
    assert proc.returncode == 2 and "Refusing to overwrite" in proc.stderr
    assert photo.read_bytes() == before


def test_missing_checkpoint_fails_fast_with_one_line(tmp_path):
    photo = photos("hq_photos", 1)[0]
    proc = _run("-i", photo, "-o", tmp_path, "--model", "v1.4", "--weights-dir", tmp_path / "w")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    from gfpgan_core.zoo import command

    assert "GFPGANv1.4.pth" in proc.stderr and command("download v1.4 --from FILE") in proc.stderr


def test_missing_checkpoint_fails_fast(tmp_path):
    """Timed in this process: the interpreter and torch start-up are not the check's cost."""
    from gfpgan_core.cli import main

    photo = photos("hq_photos", 1)[0]
    start = time.perf_counter()
    assert main(["-i", str(photo), "-o", str(tmp_path), "-m", "v1.4", "--weights-dir", str(tmp_path / "w")]) == 2
    assert time.perf_counter() - start < 5


def test_bad_arguments_are_one_line(tmp_path, tiny_checkpoint):
    proc = _run("-i", tmp_path / "missing", "-o", tmp_path, "--model-path", tiny_checkpoint)
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    proc = _run("-i", photos("hq_photos", 1)[0], "-o", tmp_path, "--model-path", tiny_checkpoint, "-w", "3")
    assert proc.returncode == 2 and "weight must be between 0 and 1" in proc.stderr


def test_download_list():
    proc = _run("download", "--list")
    assert proc.returncode == 0 and "v1.4" in proc.stderr and "realesr-general-x4v3" in proc.stderr


def _commands(text: str) -> list[str]:
    """The commands a message names (between backticks)."""
    return text.split("`")[1::2]


def test_every_command_the_messages_print_runs_as_written(tmp_path):
    """Offline with no weights: the CLI and the server name commands for the interpreter that runs them
    (not a bare `python`, which after the README's first command has no packages), with the files'
    URLs and sha256; the printed `download NAME --from FILE` installs a file fetched elsewhere and
    refuses one that is not the published file."""
    import shlex

    from gfpgan_core.service import ModelService
    from gfpgan_core.zoo import command

    weights = tmp_path / "w"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GFPGAN_WEIGHTS_DIR": str(weights)}

    def shell(line: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-c", line], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)

    said = _run("download", "v1.4", "--weights-dir", weights).stderr
    assert "https://github.com/TencentARC/GFPGAN/releases/download/v1.3.0/GFPGANv1.4.pth" in said
    assert "sha256 e2cd4703ab14f4d01fd1383a8a8b266f9a5833dacee8e6a79d3bf21a1b6be5ad" in said
    (install,) = _commands(said)
    assert install == command("download v1.4 --from FILE") and ("gfpgan " in install or sys.executable in install)
    wrong = tmp_path / "GFPGANv1.4.pth"
    wrong.write_bytes(b"not the published file")
    refused = shell(install.replace("FILE", shlex.quote(str(wrong))))
    assert refused.returncode == 2 and "is not GFPGANv1.4.pth: its sha256 is" in refused.stderr
    assert wrong.read_bytes() == b"not the published file" and not (weights / "GFPGANv1.4.pth").exists()

    fetched = tmp_path / "downloaded elsewhere.pth"  # no published sha256: pinned, as a first download is
    import torch

    torch.save({"params_ema": published_layout("RestoreFormer")}, fetched)
    (install,) = _commands(_run("download", "restoreformer", "--weights-dir", weights).stderr)
    installed = shell(install.replace("FILE", shlex.quote(str(fetched))))
    assert installed.returncode == 0, installed.stderr
    assert (weights / "RestoreFormer.pth").read_bytes() == fetched.read_bytes()
    listed = shell(command("download --list")).stderr
    assert next(line for line in listed.splitlines() if line.startswith("restoreformer")).split()[2] == "on"

    # the server's own line when no model can run names the same kind of command, and it runs
    why = ModelService(weights_dir=tmp_path / "empty", download=False).default_model()[1]
    (download,) = _commands(why)
    ran = shell(download)
    assert ran.returncode == 2 and "No module named" not in ran.stderr and "GFPGANv1.4.pth" in ran.stderr


def test_choices_and_defaults_come_from_the_options():
    from gfpgan_core.cli.main import build_parser
    from gfpgan_core.options import DETECTORS, PARSERS, UPSAMPLERS, RestoreOptions

    args = build_parser().parse_args(["restore", "-i", "x"])
    defaults = RestoreOptions()
    assert (args.upscale, args.weight, args.threshold, args.batch_size) == (
        defaults.upscale,
        defaults.weight,
        defaults.detection_threshold,
        defaults.batch_size,
    )
    actions = {a.dest: a for a in build_parser()._subparsers._group_actions[0].choices["restore"]._actions}
    assert tuple(actions["detector"].choices) == DETECTORS
    assert tuple(actions["bg_upsampler"].choices) == UPSAMPLERS
    assert tuple(actions["parser"].choices) == PARSERS


def test_unknown_model_name_is_one_line(tmp_path):
    proc = _run("-i", photos("hq_photos", 1)[0], "-o", tmp_path, "-m", "v9", "--no-download")
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "Unknown model 'v9'" in proc.stderr


def test_bugs_keep_their_traceback(monkeypatch):
    """The CLI turns user errors into one line, and only those: a real bug must stay visible."""
    from gfpgan_core.cli import main, restore

    def broken(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(restore, "run", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["restore", "-i", "x"])


def test_suffix_cannot_leave_the_output_folder(tmp_path, tiny_checkpoint):
    photo = photos("hq_photos", 1)[0]
    for suffix in ("/../../x", "..", "a/b", "x\\y"):
        proc = _run("-i", photo, "-o", tmp_path / "out", "--model-path", tiny_checkpoint, "--suffix", suffix)
        assert proc.returncode == 2 and "--suffix" in proc.stderr and proc.stderr.strip().count("\n") == 0
    assert not (tmp_path / "x").exists() and not list(tmp_path.rglob("*.jpg"))


def test_a_folder_run_resumes_and_overwrite_redoes(tmp_path, tiny_checkpoint):
    src = _input_folder(tmp_path, photos("hq_photos", 2))
    out = tmp_path / "out"
    first = _run("-i", src, "-o", out, "--model-path", tiny_checkpoint, "-s", 1, "--no-download")
    assert first.returncode == 0 and first.stderr.count("[1/2]") == 1 and first.stderr.count("[2/2]") == 1
    stamp = {p: p.stat().st_mtime_ns for p in (out / "restored_imgs").iterdir()}
    again = _run("-i", src, "-o", out, "--model-path", tiny_checkpoint, "-s", 1, "--no-download")
    assert again.returncode == 0 and again.stderr.count("already restored") == 2
    assert {p: p.stat().st_mtime_ns for p in (out / "restored_imgs").iterdir()} == stamp
    redo = _run("-i", src, "-o", out, "--model-path", tiny_checkpoint, "-s", 1, "--no-download", "--overwrite")
    assert redo.returncode == 0 and "already restored" not in redo.stderr
    assert all(p.stat().st_mtime_ns > stamp[p] for p in stamp)


def test_a_skipped_file_is_named_once(tmp_path, tiny_checkpoint):
    src = _input_folder(tmp_path)
    (src / "broken.jpg").write_bytes(b"not a jpeg")
    proc = _run("-i", src, "-o", tmp_path / "out", "--model-path", tiny_checkpoint, "--no-download")
    line = next(line for line in proc.stderr.splitlines() if "skipped" in line)
    assert line.count("broken.jpg") == 1, line


def test_expressions_are_written_beside_the_outputs(tmp_path, tiny_checkpoint):
    import csv
    import json

    src = _input_folder(tmp_path, photos("hq_photos", 2))
    out = tmp_path / "out"
    proc = _run("-i", src, "-o", out, "--model-path", tiny_checkpoint, "-s", 1, "--no-download", "--expressions")
    assert proc.returncode == 0, proc.stderr
    with open(out / "expressions.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(list((out / "restored_faces").iterdir())) >= 2
    classes = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    for row in rows:
        assert row["before"] in classes and row["after"] in classes
        assert sum(float(row[f"after_{c}"]) for c in classes) == pytest.approx(1, abs=1e-3)
    assert json.loads((out / "expressions.json").read_text())[0]["face"] == rows[0]["face"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "filename", "arch", "weights"),
    [
        ("v1", "GFPGANv1.pth", "GFPGANv1", ("1",)),
        ("restoreformer", "RestoreFormer.pth", "RestoreFormer", ("1",)),
        ("restoreformer++", "RestoreFormer++.ckpt", "RestoreFormerPlusPlus", ("1",)),
        ("gpen-bfr-512", "GPEN-BFR-512.pth", "GPEN", ("1",)),
        ("codeformer", "codeformer.pth", "CodeFormer", ("0.5", "1")),
    ],
)
def test_each_restorer_by_name_from_a_file_in_the_published_layout(tmp_path, name, filename, arch, weights):
    """`-m NAME [-w W]` with the release's file (random weights, its key layout) in the weights folder;
    for CodeFormer the fidelity weight reaches the model. RestoreFormer++'s release is a Lightning
    checkpoint (the network under state_dict's "vqvae.")."""
    import torch

    folder = tmp_path / "weights"
    folder.mkdir()
    state = published_layout(arch)
    if arch == "GPEN":  # a bare state dict, as yangxy/GPEN publishes it
        torch.save(state, folder / filename)
    elif filename.endswith(".ckpt"):
        torch.save({"epoch": 1, "state_dict": {f"vqvae.{k}": v for k, v in state.items()}}, folder / filename)
    else:
        torch.save({"params_ema": state}, folder / filename)
    photo = REPO / "examples" / "astronaut_degraded.jpg"
    faces = {}
    for w in weights:
        out = tmp_path / f"out{w}"
        proc = _run("-i", photo, "-o", out, "-m", name, "-w", w, "-s", 1, "--weights-dir", folder, "--no-download")
        assert proc.returncode == 0, proc.stderr
        assert f"model {name}" in proc.stderr and ": 1 face found and restored, " in proc.stderr
        faces[w] = np.asarray(Image.open(out / "restored_faces" / "astronaut_degraded_00.png")).astype(int)
        assert faces[w].shape == (512, 512, 3)
    if len(faces) > 1:
        assert np.abs(faces["0.5"] - faces["1"]).max() > 0


def test_the_installed_package_runs_from_any_folder(tmp_path):
    """`pip install .` (scripts/test.sh does it, held to requirements.txt): the `gfpgan` script names
    itself, and the installed package carries its data (the page's assets, the bundled classifier)."""
    script = os.path.join(os.path.dirname(sys.executable), "gfpgan")
    if not os.path.isfile(script):
        pytest.skip("the package is not installed in this environment (scripts/test.sh installs it)")
    shown = subprocess.run([script, "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0 and shown.stdout.startswith("usage: gfpgan "), shown.stdout[:200]
    check = (
        "import gfpgan_core, gfpgan_core.zoo as z; from gfpgan_core.web import settings, text; "
        "assert 'site-packages' in gfpgan_core.__file__, gfpgan_core.__file__; "
        "assert text.css() and '10 minutes' in text.about(settings.Limits()); "
        "assert z.ensure_weights('fer-mini-xception', download=False).is_file()"
    )
    run = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]


def test_a_demo_checkpoint_to_try_the_app_without_weights(tmp_path):
    """`demo-checkpoint` writes random weights in the official layout, says they give noise, and prints
    the command that starts the app with them (for the interpreter running now)."""
    import shlex

    from gfpgan_core.service import ModelService

    proc = _run("demo-checkpoint", tmp_path / "demo.pth")
    assert proc.returncode == 0 and "RANDOM weights" in proc.stderr and "noise" in proc.stderr
    start = proc.stderr.split("start the app with it: ")[1].strip()
    assert shlex.split(start)[:2] == [sys.executable, str(REPO / "app.py")]
    assert shlex.split(start)[2:] == ["--model-path", str(tmp_path / "demo.pth")]
    service = ModelService(custom_model=tmp_path / "demo.pth", weights_dir=tmp_path / "w", download=False)
    assert service.load("custom") == "custom (demo.pth)"


def test_help_answers_without_loading_torch():
    """`gfpgan --help` lists every command with its help line and imports no command module (nor torch)."""
    code = (
        "import sys, contextlib, io\n"
        "from gfpgan_core.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\n"
        "assert 'torch' not in sys.modules and 'cv2' not in sys.modules, sorted(sys.modules)\n"
        "from gfpgan_core.cli.main import COMMANDS\n"
        "assert all(name in out.getvalue() for name in COMMANDS), out.getvalue()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_the_readme_offline_commands_run_as_written(tmp_path):
    """README's offline section, run from the checkout with this interpreter for `.venv/bin/python`
    (the same one in CI) and the demo file in a temporary folder: the download commands answer in one
    line each, and the demo checkpoint starts the app."""
    from appserver import free_port

    readme = (REPO / "README.md").read_text()
    start = readme.index("## Offline, and with no weights")
    section = readme[start : readme.index("\n## ", start)]  # to the next section
    blocks = [b.split("\n", 1)[1] for b in section.split("```bash")[1:]]
    blocks = [b.split("```")[0] for b in blocks]
    commands = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines() if line.strip()]
    assert len(commands) == 3, commands
    port = free_port()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "GFPGAN_WEIGHTS_DIR": str(tmp_path / "w"),
        "GFPGAN_DATA_DIR": str(tmp_path / "data"),
        "GRADIO_SERVER_PORT": str(port),
    }

    def as_here(line: str) -> str:
        return line.replace(".venv/bin/python", sys.executable).replace("demo.pth", str(tmp_path / "demo.pth"))

    download, install, demo = (as_here(c) for c in commands)
    for line, said in ((download, "--from FILE"), (install, "No file at GFPGANv1.4.pth")):
        proc = subprocess.run(["bash", "-c", line], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and said in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    app = subprocess.Popen(
        ["bash", "-c", demo],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # bash and the app it starts: stopped together below
    )
    try:
        deadline, seen = time.time() + 120, []
        while time.time() < deadline and app.poll() is None:
            seen.append(app.stdout.readline())
            if f"Running on local URL:  http://127.0.0.1:{port}" in seen[-1]:
                break
        assert f"127.0.0.1:{port}" in seen[-1] and "RANDOM weights" in "".join(seen), "".join(seen)
    finally:
        os.killpg(app.pid, signal.SIGTERM)
        app.wait(timeout=30)


def test_inputs_sharing_a_name_get_outputs_of_their_own(tmp_path, tiny_checkpoint):
    """photo.jpg and photo.png: with --ext png the second was skipped as "already restored" (exit 0)
    and their face crops overwrote each other; each now has its own names, said in a line."""
    src = _input_folder(tmp_path)
    face = photos("hq_photos", 1)[0]
    Image.open(face).convert("RGB").save(src / "photo.jpg")
    Image.open(face).convert("RGB").save(src / "photo.png")
    out = tmp_path / "out"
    proc = _run("-i", src, "-o", out, "--model-path", tiny_checkpoint, "-s", 1, "--ext", "png", "--no-download")
    assert proc.returncode == 0 and "already restored" not in proc.stderr, proc.stderr
    assert "photo.jpg shares its name with another input: its outputs are named photo_jpg" in proc.stderr
    assert sorted(p.name for p in (out / "restored_imgs").iterdir()) == ["photo_jpg.png", "photo_png.png"]
    crops = sorted(p.name for p in (out / "restored_faces").iterdir())
    assert crops and {c.rsplit("_", 1)[0] for c in crops} == {"photo_jpg", "photo_png"}


def test_download_all_fetches_no_weights_of_unclear_terms(monkeypatch, caplog):
    """GPEN's weights are fetched only when named: `download --all` passes them over, saying how."""
    import argparse
    import logging

    from gfpgan_core import zoo
    from gfpgan_core.cli import download

    fetched = []
    monkeypatch.setattr(zoo, "ensure_weights", lambda entry, folder=None: fetched.append(entry.name) or entry.filename)

    def args(**given):
        return argparse.Namespace(
            **{"all": False, "names": [], "source": None, "weights_dir": None, "list": False, **given}
        )

    with caplog.at_level(logging.INFO):
        assert download.run(args(all=True)) == 0
    assert "v1.4" in fetched and "codeformer" in fetched
    assert not any(name.startswith("gpen") for name in fetched)
    assert "gpen-bfr-512: skipped by --all" in caplog.text and "`download gpen-bfr-512` fetches it" in caplog.text
    fetched.clear()
    assert (
        download.run(argparse.Namespace(all=False, names=["gpen-bfr-256"], source=None, weights_dir=None, list=False))
        == 0
    )
    assert fetched == ["gpen-bfr-256"]


@pytest.mark.slow
def test_colorize_and_inpaint_take_their_own_checkpoints_by_default(tmp_path):
    """`--task colorize` (and inpaint) on an aligned face uses CodeFormer's checkpoint for it (random
    weights in its layout in the weights folder), --aligned implied; a grey face comes out in colour."""
    import torch

    folder = tmp_path / "weights"
    folder.mkdir()
    for name, codebook in (("colorization", 1024), ("inpainting", 512)):
        layout = published_layout("CodeFormer", codebook_size=codebook, connect_list=("32", "64", "128"))
        torch.save({"params_ema": layout}, folder / f"codeformer_{name}.pth")
    grey = tmp_path / "in" / "face.png"
    grey.parent.mkdir()
    Image.open(photos("hq_photos", 1)[0]).convert("L").resize((512, 512)).save(grey)
    for task, model in (("colorize", "codeformer-colorization"), ("inpaint", "codeformer-inpainting")):
        out = tmp_path / task
        proc = _run("-i", grey, "-o", out, "--task", task, "-s", 1, "--weights-dir", folder, "--no-download")
        assert proc.returncode == 0, proc.stderr
        assert f"Model: {model} (the checkpoint for --task {task})" in proc.stderr
        restored = Image.open(out / "restored_imgs" / "face.png")
        assert restored.size == (512, 512)
    assert Image.open(tmp_path / "colorize" / "restored_imgs" / "face.png").mode == "RGB"  # colour out
