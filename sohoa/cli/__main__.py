"""`python -m sohoa.cli`."""

from sohoa.cli import main

main()
