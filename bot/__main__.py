"""`python -m bot`: see `bot.cli`."""

import logging
import os
import sys

from bot.cli import main

if __name__ == "__main__":
    status = main()
    # Everything the product owns is closed and committed by now (`bot.app` unwinds it all
    # before `main` returns). The interpreter's own finalization (tearing down discord.py,
    # PyGithub, SQLAlchemy and pydantic module by module, joining threads that hold only
    # idle connections or a call nobody awaits) took 0.3 s on an idle machine and seconds on
    # a loaded one: an operator's Ctrl+C must not wait for it.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
