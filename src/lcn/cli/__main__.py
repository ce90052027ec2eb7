"""``python -m lcn.cli``."""

from lcn.cli import main

main()
