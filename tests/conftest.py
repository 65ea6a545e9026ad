"""Shared pytest setup: every test is bounded in time (pytest-timeout), 120 s unless it says otherwise."""
import pytest


def pytest_collection_modifyitems(config, items):
    if not config.pluginmanager.hasplugin("timeout"):
        return
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(120))
