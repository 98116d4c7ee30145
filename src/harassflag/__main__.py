"""`python -m harassflag ...`: the same CLI as the `harassflag` console script."""

from .cli import main

if __name__ == "__main__":
    main()
