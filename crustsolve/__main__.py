"""``python -m crustsolve`` = the ``crustsolve`` command."""
import sys

from .cli import main

sys.exit(main())
