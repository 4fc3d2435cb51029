"""`python -m tabflow.console ...`: the same as the `tabflow` script."""
import sys

from tabflow.console.main import main

sys.exit(main())
