"""A table object with the same display protocol as the manuscript's tables module."""


class ToyTable:
    def __init__(self, rows):
        self.rows = rows

    def _repr_html_(self):
        body = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in self.rows)
        return f"<table class='toy'><thead><tr><th>Name</th><th>Value</th></tr></thead>{body}</table>"

    def _repr_markdown_(self):
        lines = ["| Name | Value |", "|:-----|------:|"]
        lines += [f"| {k} | {v} |" for k, v in self.rows]
        return "\n".join(lines) + "\n\nValues are invented for the test.\n"
