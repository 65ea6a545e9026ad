"""jsonbody: top-level parse with value spans; the model rewrite keeps every other byte."""
import pytest

from tresor.errors import ClientError
from tresor.gateway import jsonbody


def test_replace_changes_only_the_top_level_value():
    raw = b'{ "temperature": 1.0,\n "model" : "alias", "metadata": {"model": "keep"}, "n": 1e-07 }'
    members, spans, text = jsonbody.parse(raw)
    assert members["model"] == "alias" and members["metadata"] == {"model": "keep"}
    out = jsonbody.replace(text, spans, "model", "real-model")
    assert out == raw.replace(b'"alias"', b'"real-model"')


def test_unicode_survives_and_absent_key_is_a_no_op():
    members, spans, text = jsonbody.parse('{"a": "héllo ✓"}'.encode())
    assert jsonbody.replace(text, spans, "model", "x") == '{"a": "héllo ✓"}'.encode()


@pytest.mark.parametrize("raw, needle", [
    (b"", "not valid JSON"), (b"[1]", "expected a JSON object"), (b'{"a":1,}', "member name"),
    (b'{"a" 1}', "expected ':'"), (b'{"a":1} x', "extra data"), (b"\xff\xfe", "not valid UTF-8"),
    (b'{"a": }', "not valid JSON"),
])
def test_invalid_bodies_are_400_with_a_reason(raw, needle):
    with pytest.raises(ClientError) as info:
        jsonbody.parse(raw)
    assert info.value.status == 400 and needle in info.value.message
