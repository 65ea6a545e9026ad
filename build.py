#!/usr/bin/env python3
"""Build dist/tresor.pyz: a reproducible zipapp of tresor/, webui/ and the default config.yaml.

Entries are written in sorted order with one fixed timestamp (SOURCE_DATE_EPOCH, default
1980-01-01) and fixed permissions, so two builds of the same tree are byte-identical
(plain zipapp.create_archive is not: ZipFile.write records each file's mtime).
usage: python build.py [--output PATH]
"""
import argparse
import os
import stat
import sys
import time
import zipfile

ROOT = os.path.dirname(os.path.abspath(sys.argv[0] if __name__ == "__main__" else __file__))
SHEBANG = b"#!/usr/bin/env python3\n"
MAIN = b"import sys\nfrom tresor.cli import main\nsys.exit(main())\n"
SKIP_DIRS = {"__pycache__", "tests", ".git"}
SKIP_SUFFIXES = (".pyc", ".pyo", ".swp", "~")


def _sources(root):
    """Yield archive names of every file to pack, sorted (os.walk order is filesystem-dependent)."""
    names = ["config.yaml"]
    for top in ("tresor", "webui"):
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            for filename in filenames:
                if not filename.endswith(SKIP_SUFFIXES) and not filename.startswith("."):
                    rel = os.path.relpath(os.path.join(dirpath, filename), root)
                    names.append(rel.replace(os.sep, "/"))
    return sorted(names)


def _stamp():
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))  # 1980-01-01, zip's earliest date
    return time.gmtime(max(epoch, 315532800))[:6]


def build(root, output):
    """Write the archive to `output` and return the number of files packed."""
    stamp = _stamp()
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    tmp = output + ".tmp"
    with open(tmp, "wb") as f:
        f.write(SHEBANG)
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            entries = [("__main__.py", MAIN)]
            entries += [(name, _read(os.path.join(root, name))) for name in _sources(root)]
            for name, data in entries:
                info = zipfile.ZipInfo(name, date_time=stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                zf.writestr(info, data, compresslevel=9)
    os.chmod(tmp, 0o755)
    os.replace(tmp, output)
    return len(entries)


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def main(argv=None):
    parser = argparse.ArgumentParser(description="Build the reproducible tresor.pyz zipapp.")
    parser.add_argument("--output", default=os.path.join(ROOT, "dist", "tresor.pyz"))
    args = parser.parse_args(argv)
    count = build(ROOT, args.output)
    print("built %s (%d files, %d bytes)" % (args.output, count, os.path.getsize(args.output)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
