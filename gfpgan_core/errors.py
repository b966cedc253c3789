"""Errors with one-line, user-facing messages. The CLI and the app print ``str(error)`` as is."""


class GFPGANError(Exception):
    """Base class: the message is a complete sentence a user can act on."""


class ImageError(GFPGANError, ValueError):
    """The input is not an image we can read, or is too large to decode safely."""


class CheckpointError(GFPGANError, ValueError):
    """A weights file that cannot be read or whose architecture is not recognised."""


class WeightsMissingError(GFPGANError, FileNotFoundError):
    """A model's weights are not on disk and could not be downloaded."""


def first_line(exc: BaseException) -> str:
    """A one-line description of any exception (some carry empty or multi-line messages)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
