"""``python -m agent.cli``: the ``pixelpilot`` command."""

import sys

from agent.cli.main import main

sys.exit(main())
