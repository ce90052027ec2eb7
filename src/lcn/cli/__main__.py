"""``python -m lcn.cli``."""

from lcn.cli import main

# the guard matters: Dask's worker processes are spawned and re-import the main module
if __name__ == "__main__":
    main()
