"""``python -m harness.cli``: the ``simharness`` command."""

import sys

from harness.cli.main import main

sys.exit(main())
