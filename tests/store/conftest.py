"""Fixtures for the store tests: a migrated connection and an open Store, both on tmp_path files."""
import pytest

from tresor.store import Store, db, migrations


@pytest.fixture
def conn(tmp_path):
    """A migrated writer-style connection in autocommit mode (each statement commits)."""
    connection = db.connect(str(tmp_path / "tresor.db"))
    migrations.migrate(connection)
    yield connection
    connection.close()


@pytest.fixture
def store(tmp_path):
    """An open Store on a fresh file; closed after the test."""
    opened = Store.open(str(tmp_path / "tresor.db"))
    yield opened
    opened.close()
