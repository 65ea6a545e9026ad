"""docs/translation.md is generated from the format modules (tests/translation/loss_report.py) and
must say what the code does: regenerate it in memory and compare."""
import os

from tests.support import ROOT
from tests.translation import loss_report

DOC = os.path.join(ROOT, "docs", "translation.md")
REGENERATE = "python -m tests.translation.loss_report > docs/translation.md"


def test_translation_doc_matches_the_format_modules():
    expected = loss_report.render()
    with open(DOC, encoding="utf-8") as f:
        current = f.read()
    if current != expected:
        diff = [line for line in _diff(current, expected)][:40]
        raise AssertionError("docs/translation.md is out of date with the format modules; regenerate it with\n    %s\n"
                             "and review the changes:\n%s" % (REGENERATE, "\n".join(diff)))


def test_every_cross_format_pair_has_its_three_sections():
    text = loss_report.render()
    for client, downstream in loss_report.PAIRS:
        assert "## %s client → %s downstream" % (client, downstream) in text
    assert text.count("### Request (") == text.count("### Answer (") == text.count("### Stream (") == 12
    assert "extras `" not in text, "an extras key has no label in loss_report.OPAQUE"


def _diff(old, new):
    import difflib

    return difflib.unified_diff(old.splitlines(), new.splitlines(), "docs/translation.md", "generated", lineterm="")
