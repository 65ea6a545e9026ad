"""store/sessions.py: admin session tokens that survive a restart."""
from tresor.store import Store, sessions


def test_created_token_exists_and_survives_reopening(tmp_path):
    path = str(tmp_path / "s.db")
    with Store.open(path) as store:
        store.write(sessions.create, "t1")
        assert sessions.exists(store.reader(), "t1") is True
        assert sessions.exists(store.reader(), "t2") is False
    with Store.open(path) as store:
        assert sessions.list_tokens(store.reader()) == ["t1"]


def test_creating_the_same_token_twice_keeps_one_row(conn):
    sessions.create(conn, "t")
    sessions.create(conn, "t")
    assert sessions.list_tokens(conn) == ["t"]


def test_touch_reports_unknown_tokens(conn):
    sessions.create(conn, "t")
    assert sessions.touch(conn, "t") is True
    assert sessions.touch(conn, "nope") is False


def test_delete_revokes_one_token_and_delete_all_revokes_every_token(conn):
    for token in ("a", "b", "c"):
        sessions.create(conn, token)
    assert sessions.delete(conn, "a") is True
    assert sessions.delete(conn, "a") is False
    assert sessions.delete_all(conn) == 2
    assert sessions.list_tokens(conn) == []
