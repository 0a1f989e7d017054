"""Every test here writes uploads (and licences) under its own temporary folder."""

import pytest


@pytest.fixture(autouse=True)
def _files(private_media):
    return private_media
