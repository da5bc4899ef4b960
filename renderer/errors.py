"""The one exception type the renderer raises for problems the user can fix."""


class RenderError(Exception):
    """A problem with the document or its execution; `where` is 'file:line' when known."""

    def __init__(self, message, where=None):
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self):
        return f"{self.where}: {self.message}" if self.where else self.message
