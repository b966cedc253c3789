"""Errors with one-line, user-facing messages. The CLI and the app print ``str(error)`` as is."""


class GFPGANError(Exception):
    """Base class: the message is a complete sentence a user can act on."""


class ImageError(GFPGANError, ValueError):
    """The input is not an image we can read, or is too large to decode safely."""


class CheckpointError(GFPGANError, ValueError):
    """A weights file that cannot be read or whose architecture is not recognised."""


class WeightsMissingError(GFPGANError, FileNotFoundError):
    """A model's weights are not on disk and could not be downloaded."""
