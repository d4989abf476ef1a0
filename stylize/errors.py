"""The library's own exception types.

Every error a user can cause (a bad photo, an unreachable store, a wrong checksum) is one of these
and carries one sentence: what went wrong, with which input or asset, and what to do. The CLI and
the page print that sentence; anything else is a bug and keeps its traceback.
"""


class StylizeError(Exception):
    """A problem the user can fix; ``str(error)`` is the one sentence to show them."""


class StoreError(StylizeError):
    """A model-store asset could not be fetched or verified."""


class InputError(StylizeError):
    """A photo, style image or option the user gave cannot be used."""


class ModelError(StylizeError):
    """A model file loaded from the store does not behave like the manifest says."""


class MissingAsset(StoreError):
    """The store does not hold this asset (no such file, key or public address): only what needs
    it is unavailable, unlike a store that cannot be reached or a file that does not verify."""
