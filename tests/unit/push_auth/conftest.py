"""A fresh push_auth on doubles for every test."""

from __future__ import annotations

import pytest
from push_doubles import Phone, World


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def phone(world: World) -> Phone:
    return world.phone("alice")
