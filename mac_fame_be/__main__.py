"""`python -m mac_fame_be`: the `mfb` command (see the `cli` chapter).

A plain file, not generated: `nbdev_export` leaves it alone (it writes only the modules the notebooks name)."""
import sys
from mac_fame_be.cli import main

if __name__ == '__main__': sys.exit(main())
