"""The command line, ``python -m gfpgan_core`` or ``gfpgan``: one module per subcommand.

Library modules never import this package; it only parses arguments and calls them.
"""

from .main import main

__all__ = ["main"]
