from __future__ import annotations

import subprocess

import pytest

from meadow.notes.media import ffmpeg_exe


def _make_mp4(path, seconds: int) -> bytes:
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         f"testsrc=size=160x120:rate=10:duration={seconds}", "-pix_fmt", "yuv420p", "-c:v", "mpeg4",
         "-metadata", "location=+03.1390+101.6869/", str(path)],
        check=True,
        capture_output=True,
        timeout=120,
    )  # fmt: skip
    return path.read_bytes()


@pytest.fixture(scope="session")
def mp4_2s(tmp_path_factory) -> bytes:
    """A real two-second MP4 made once per test process with the ffmpeg imageio-ffmpeg ships."""
    return _make_mp4(tmp_path_factory.mktemp("video") / "clip.mp4", 2)


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture(autouse=True)
def _restore_pillow_limit():
    """The pipeline sets Pillow's process-wide bomb limit from settings; put it back after tests that shrink it."""
    from PIL import Image

    before = Image.MAX_IMAGE_PIXELS
    yield
    Image.MAX_IMAGE_PIXELS = before
