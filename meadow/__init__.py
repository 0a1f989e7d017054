"""Meadow: an open-source, self-hostable social-commerce platform."""

from meadow.celery import app as celery_app

__all__ = ["celery_app"]
