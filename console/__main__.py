"""`python -m console ...`: the same as the `taxi-pipeline` script."""
import sys

from console.main import main

sys.exit(main())
