"""``python -m mlxfunctional.cli ...`` runs the ``mlxf`` command."""

import sys

from . import main

sys.exit(main())
