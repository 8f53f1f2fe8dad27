"""User-facing errors: the message of each says what went wrong and what to do next.

Domain code raises these; only the edges (CLI, HTTP API) convert them, to one line and a non-zero exit
code, or to a 4xx/503 JSON error.
"""


class AssistantError(Exception):
    """Base class: an error whose message is meant for the user."""

    status_code = 400


class InvalidQuestion(AssistantError):
    """The question is empty, too long or otherwise unusable."""

    status_code = 422


class IngestError(AssistantError):
    """A corpus file could not be read or lacks required metadata."""

    status_code = 400


class IndexNotFound(AssistantError):
    """No built index where one was expected."""

    status_code = 503


class IndexMismatch(AssistantError):
    """The index on disk does not match its manifest or the configured model."""

    status_code = 503


class IndexBusy(AssistantError):
    """Another build of the same index folder holds the build lock."""

    status_code = 503


class ConversationNotFound(AssistantError):
    """No conversation with that id (never existed, deleted or expired)."""

    status_code = 404


class PassageNotFound(AssistantError):
    """No passage with that id in the loaded index."""

    status_code = 404


class EvalDataError(AssistantError):
    """An evaluation data file is missing or malformed."""

    status_code = 400


class ConfigError(AssistantError):
    """A setting names something that cannot be used (a file that is missing or of the wrong kind)."""

    status_code = 503
