"""The image checks and fingerprints without the database: the real models on generated images, the
explicit-image policy with injected detector output, and the band arithmetic."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from meadow.moderation import images, plagiarism
from meadow.moderation.tests import imagegen


def test_qr_codes_are_found_and_decoded():
    [code] = images.find_qr_codes(imagegen.qr("weixin://dl/chat?lily1998"))
    assert code.payload == "weixin://dl/chat?lily1998"
    assert code.box[2] > 50
    assert images.find_qr_codes(imagegen.photo(seed=2)) == []


def test_ocr_reads_a_contact_line():
    found = images.read_text(imagegen.text("vx: lily1998"))
    assert "lily1998" in found.text
    line = found.line_at(found.text.index("lily1998"))
    assert line is not None and line.score > 0.8


def test_lines_on_one_row_join_with_a_space_and_rows_with_a_newline():
    lines = [
        images.TextLine("id", 0.9, (200, 100, 40, 30)),
        images.TextLine("加我", 0.9, (100, 102, 60, 30)),
        images.TextLine("lily", 0.9, (100, 200, 60, 30)),
    ]
    joined = images.join_lines(lines)
    assert joined.text == "加我 id\nlily"
    assert joined.spans == ((0, 2), (3, 5), (6, 10))


def test_nudenet_finds_nothing_explicit_in_neutral_images():
    detector = images.explicit_detector()
    for img in (imagegen.photo(seed=1), imagegen.photo(seed=9, size=(1080, 1440)), imagegen.text()):
        verdict = images.explicit_verdict(detector.detect(img), threshold=0.6)
        assert not verdict.flagged, verdict


@pytest.mark.parametrize(
    ("parts", "flagged", "score"),
    [
        ([("FEMALE_BREAST_EXPOSED", 0.83)], True, 0.83),
        ([("FEMALE_GENITALIA_EXPOSED", 0.61), ("FACE_FEMALE", 0.99)], True, 0.61),
        ([("BUTTOCKS_EXPOSED", 0.44)], False, 0.44),  # a skin-coloured blob scores about this
        ([("FEMALE_BREAST_COVERED", 0.95), ("BELLY_EXPOSED", 0.9), ("FEET_EXPOSED", 0.9)], False, 0.0),
        ([], False, 0.0),
    ],
)
def test_explicit_policy(parts, flagged, score):
    verdict = images.explicit_verdict([images.BodyPart(k, s, (0, 0, 1, 1)) for k, s in parts], threshold=0.6)
    assert verdict.flagged is flagged
    assert verdict.score == pytest.approx(score)
    assert all(p.label in images.EXPLICIT_CLASSES and p.score >= 0.6 for p in verdict.parts)


def test_models_ship_in_the_wheels_and_load_without_network():
    """In a fresh process where opening any socket fails: both ONNX models load from site-packages and run."""
    code = """
import socket, sys
def refuse(*a, **k):
    raise OSError("network is off in this test")
socket.socket.connect = refuse
socket.getaddrinfo = refuse
socket.create_connection = refuse
sys.path.insert(0, ".")
from meadow.moderation import images
from meadow.moderation.tests import imagegen
assert images.read_text(imagegen.text("vx: lily1998")).text
images.explicit_detector().detect(imagegen.photo())
print("ok")
"""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]


def test_flat_images():
    from PIL import Image

    assert images.is_flat(Image.new("RGB", (300, 300), (200, 80, 40)))
    assert not images.is_flat(imagegen.text())  # a small line of text on a plain card is not flat
    assert not images.is_flat(imagegen.photo())


def test_phash_survives_resizing_and_reencoding_but_tells_pictures_apart():
    import io

    from PIL import Image

    a = imagegen.photo(seed=40)
    copy = Image.open(io.BytesIO(imagegen.encode(a.resize((180, 240)), quality=60)))
    assert plagiarism.hamming(images.phash(a), images.phash(copy)) <= plagiarism.IMAGE_MAX_DISTANCE
    others = [images.phash(imagegen.photo(seed=s)) for s in range(41, 50)]
    assert min(plagiarism.hamming(images.phash(a), h) for h in others) > 10


def test_bands_pigeonhole_and_signed_storage():
    value = 0xDEADBEEF_01234567
    assert plagiarism.bands(value) == (0xDEAD, 0xBEEF, 0x0123, 0x4567)
    assert plagiarism.to_unsigned(plagiarism.to_signed(value)) == value
    assert plagiarism.to_signed(value) < 0
    # any 3 flipped bits leave at least one band intact
    for bits in [(0, 16, 32), (1, 2, 3), (63, 47, 31), (15, 31, 47)]:
        other = value
        for b in bits:
            other ^= 1 << b
        assert plagiarism.hamming(value, other) == 3
        assert any(x == y for x, y in zip(plagiarism.bands(value), plagiarism.bands(other), strict=True))


def test_simhash_of_copy():
    text = (
        "Spent the weekend in Penang trying every char kway teow stall on Lorong Selamat, queued forty "
        "minutes for the famous one, and honestly the smaller shop next door was just as smoky and cheaper. "
        "Bring cash, go early, and skip the drinks stall with the long line."
    )
    a, n = plagiarism.text_fingerprint(text)
    b, _ = plagiarism.text_fingerprint(text.replace("weekend", "holiday") + " #penang")
    c, _ = plagiarism.text_fingerprint("Totally different words about a yoga class " * 5)
    assert n >= plagiarism.TEXT_MIN_TOKENS
    assert plagiarism.hamming(a, b) <= plagiarism.TEXT_MAX_DISTANCE
    assert plagiarism.hamming(a, c) > 12
    assert plagiarism.text_fingerprint("好吃！推荐") is None
