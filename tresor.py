#!/usr/bin/env python3
"""Launcher: runs the Tresor CLI from a source checkout (`python tresor.py run`)."""
import sys

from tresor.cli import main

if __name__ == "__main__":
    sys.exit(main())
