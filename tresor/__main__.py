"""Entry for `python -m tresor` and for the tresor.pyz archive."""
import sys

from tresor.cli import main

sys.exit(main())
