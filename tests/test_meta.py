"""Project rules enforced as tests: size caps, stdlib-only runtime, import layering, docs coverage."""
import ast
import os
import re
import sys

import pytest

from tests.support import ROOT

RUNTIME = [os.path.join(ROOT, "tresor.py")] + sorted(
    os.path.join(d, f) for d, _, fs in os.walk(os.path.join(ROOT, "tresor")) for f in fs if f.endswith(".py"))

# What each package may import from tresor (STYLE.md 4.1: imports only go downward).
LAYERS = {
    "tresor.errors": set(),
    "tresor.config": {"tresor.errors", "tresor.config", "tresor.bundle"},
    "tresor.store": {"tresor.errors", "tresor.config", "tresor.store"},
    "tresor.formats": {"tresor.errors", "tresor.formats"},
    "tresor.plugins": {"tresor.errors", "tresor.formats", "tresor.plugins"},
    "tresor.admin": {"tresor", "tresor.errors", "tresor.config", "tresor.store", "tresor.plugins",
                     "tresor.httpio", "tresor.admin"},
}


def _module_name(path):
    rel = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
    return rel[:-9] if rel.endswith(".__init__") else rel


def _imports(path):
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and not node.level:
            base = node.module or ""
            for alias in node.names:
                yield node.lineno, base + "." + alias.name if base == "tresor" else base


@pytest.mark.parametrize("path", RUNTIME, ids=lambda p: os.path.relpath(p, ROOT))
def test_module_size_and_function_size_caps(path):
    text = open(path, encoding="utf-8").read()
    assert text.count("\n") <= 800, "module over 800 lines"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            assert length <= 80, "%s is %d lines (cap 80)" % (node.name, length)


@pytest.mark.parametrize("path", RUNTIME, ids=lambda p: os.path.relpath(p, ROOT))
def test_runtime_imports_only_the_standard_library(path):
    stdlib = getattr(sys, "stdlib_module_names", None)
    if stdlib is None:
        pytest.skip("sys.stdlib_module_names needs Python 3.10+")
    for line, name in _imports(path):
        top = name.split(".")[0]
        assert top in stdlib or top == "tresor", "%s:%d imports %s" % (path, line, name)


@pytest.mark.parametrize("path", RUNTIME, ids=lambda p: os.path.relpath(p, ROOT))
def test_every_module_has_a_docstring(path):
    assert ast.get_docstring(ast.parse(open(path, encoding="utf-8").read())), "missing module docstring"


@pytest.mark.parametrize("path", [p for p in RUNTIME if p.endswith(".py") and os.sep + "tresor" + os.sep in p],
                         ids=lambda p: os.path.relpath(p, ROOT))
def test_imports_only_go_downward(path):
    module = _module_name(path)
    layer = next((name for name in sorted(LAYERS, key=len, reverse=True)
                  if module == name or module.startswith(name + ".")), None)
    if layer is None:
        return
    allowed = LAYERS[layer]
    for line, name in _imports(path):
        if name == "tresor" or name.startswith("tresor."):
            target = ".".join(name.split(".")[:2])
            assert target in allowed or name == "tresor.__version__", "%s:%d imports %s" % (module, line, name)


def test_readme_documents_every_config_key():
    from tresor.config.model import SECTIONS, SETTINGS
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    for name in [s.name for s in SETTINGS] + list(SECTIONS):
        assert re.search(r"`%s`" % re.escape(name), readme), "README does not document %s" % name


def test_no_banned_module_names():
    for path in RUNTIME:
        base = os.path.basename(path)[:-3]
        assert base not in ("utils", "helpers", "common", "misc", "manager"), path


def test_every_builtin_plugin_is_described_and_tested():
    from tresor import plugins
    from tresor.plugins.convert import Converter
    for cls in plugins.BUILTIN:
        assert cls.id and cls.description and isinstance(cls.config_schema, dict), cls
        if not issubclass(cls, Converter):
            assert cls.__module__ == "tresor.plugins." + cls.id, cls
            assert os.path.exists(os.path.join(ROOT, "tests", "plugins", "test_%s.py" % cls.id)), cls.id
    assert os.path.exists(os.path.join(ROOT, "tests", "plugins", "test_convert.py"))


def test_every_format_module_implements_the_module_api():
    from tresor import formats
    for format_id in formats.FORMAT_IDS:
        module = formats.get(format_id)
        missing = [name for name in formats.MODULE_API if not callable(getattr(module, name, None))]
        assert not missing, "%s lacks %s" % (format_id, missing)
