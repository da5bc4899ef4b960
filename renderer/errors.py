"""The one exception type the renderer raises for problems the user can fix."""


class RenderError(Exception):
    """A problem with the document or its execution; `where` is 'file:line' when known."""

    def __init__(self, message, where=None, refused=False):
        super().__init__(message)
        self.message = message
        self.where = where
        #: the document refused its data (analysis.inputs.errors.DataRefused): the message is
        #: the validator's, printed as it is; running it elsewhere would refuse again
        self.refused = refused
        if refused:
            self.final = True  # not worth running again (renderer.incremental)

    def __str__(self):
        if self.refused:
            return self.message
        return f"{self.where}: {self.message}" if self.where else self.message
