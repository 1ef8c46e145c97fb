"""``python -m csi``: the same as the ``csi`` command."""

import sys

from csi.cli import main

if __name__ == "__main__":
    sys.exit(main())
