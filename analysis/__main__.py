"""Run the command line: python -m analysis --help."""

import sys

from analysis.cli import main

sys.exit(main())
