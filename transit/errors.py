"""The import's error, in a module of its own so that the readers importer.py uses can raise it."""


class GTFSImportError(Exception):
    """The feed was refused or the import failed; the live version is unchanged."""

    def __init__(self, message, report=None):
        super().__init__(message)
        self.report = report
