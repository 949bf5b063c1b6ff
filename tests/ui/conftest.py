"""Fixtures shared by the web tests."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from jam.application import JamApplication
from ui.app import create_app


@pytest.fixture
def served(settings, clock):
    """A test client on an app of its own, and the JamApplication it serves."""
    app = JamApplication(settings, clock=clock)
    with TestClient(create_app(app.settings, jam=app)) as client:
        yield client, app
    app.close()
