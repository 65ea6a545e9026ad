"""aliases.validate_group: the regex and announced-name rules of reference §1.5, as a table."""
import logging

import pytest

from tresor.config.model import AliasGroup, AliasOption
from tresor.errors import ConfigError
from tresor.store.aliases import validate_group

OPTION = (AliasOption("o1", "ds", "m"),)
OTHERS = (
    AliasGroup("plain-name", OPTION),
    AliasGroup("^other-", OPTION, is_regex=True, announced_names=("other-1",)),
)
MODELS = {"served-model"}


def rx(pattern, *announced):
    return AliasGroup(pattern, OPTION, is_regex=True, announced_names=announced)


@pytest.mark.parametrize("grp, error", [
    (AliasGroup("gpt-4o", OPTION), None),
    (rx("^claude-.*$", "claude-1", "claude-2"), None),
    (rx("^(unclosed"), "invalid regex pattern '^(unclosed'"),
    (AliasGroup("gpt", OPTION, announced_names=("gpt",)), "only allowed on regex alias groups"),
    (rx("^c", ""), "announced name #1 of '^c' is empty"),
    (rx("^c", "c1", "c1"), "announced name 'c1' is listed twice"),
    (rx("^c", "x1"), "announced name 'x1' does not match pattern '^c'"),
    (rx("served", "served-model"), "collides with a downstream output_model_id"),
    (rx("plain", "plain-name"), "collides with alias group 'plain-name'"),
    (rx("other", "other-1"), "already announced by another group"),
    (AliasGroup("g", (AliasOption("o1", "ds", "a"), AliasOption("o1", "ds", "b"))), "alias id 'o1' appears twice"),
    (AliasGroup("g", (AliasOption("o1", "gone", "m"),)), "downstream 'gone' of alias 'o1' not found"),
])
def test_validate_group(grp, error):
    if error is None:
        validate_group(grp, {"ds"}, OTHERS, MODELS)
        return
    with pytest.raises(ConfigError) as info:
        validate_group(grp, {"ds"}, OTHERS, MODELS)
    assert error in str(info.value)


def test_a_group_is_not_compared_with_its_own_previous_version():
    previous = rx("^other-", "other-1")
    validate_group(previous, {"ds"}, OTHERS, MODELS)


def test_downstream_check_is_skipped_when_no_ids_are_given():
    validate_group(AliasGroup("g", (AliasOption("o1", "anything", "m"),)), None, (), set())


def test_unanchored_pattern_is_accepted_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="tresor.store.aliases"):
        validate_group(rx("claude"), None, (), set())
    assert "neither ^ nor $" in caplog.text
