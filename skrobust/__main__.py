"""``python -m skrobust``: the same command line as the ``skrobust`` script."""

from skrobust._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
