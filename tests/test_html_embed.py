"""The HTML's figures are embedded after Pandoc (renderer.pandoc._embed_figures): the page
must be the one Pandoc's own --embed-resources writes, outside the CSS it reformats."""

from __future__ import annotations

import base64
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from renderer import pandoc  # noqa: E402

MARKDOWN = """---
title: A title long enough to be wrapped by Pandoc's HTML writer at seventy-two columns
---

# Results {#sec-results}

A paragraph that refers to [the results](#sec-results) and is long enough to be wrapped
over several lines, with a link whose attributes end up on a line of their own.

![](report_files/fig-a-1.png){width=100%}

::: {#fig-b .cx-figure}
![An alt text](report_files/fig-b-1.png)

Figure 1: a caption.
:::

```{=html}
<table class='toy' id="t1"><tr><td title='a cell'>Fisher&#x27;s test</td></tr></table>
```
"""


def _figure(path, colour):
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([1, 2, 3], [3, 1, 2], color=colour)
    fig.savefig(path, dpi=50)
    plt.close(fig)


def _strip_style(page):
    return re.sub(r"<style>.*?</style>", "", page, flags=re.S)


def test_embedding_after_pandoc_writes_pandocs_page(tmp_path):
    (tmp_path / "report_files").mkdir()
    _figure(tmp_path / "report_files" / "fig-a-1.png", "C0")
    _figure(tmp_path / "report_files" / "fig-b-1.png", "C1")
    (tmp_path / "doc.md").write_text(MARKDOWN)
    ours = tmp_path / "ours.html"
    pandoc.html(tmp_path / "doc.md", ours, {"toc": True}, tmp_path, str(tmp_path))
    theirs = tmp_path / "theirs.html"
    args = [
        "--standalone",
        "--embed-resources",
        f"--resource-path={tmp_path}",
        "--include-in-header",
        str(tmp_path / "style.html"),
        "--section-divs",
        "--toc",
        "--toc-depth=3",
        "-M",
        "toc-title=Contents",
    ]
    pandoc.run_pandoc(tmp_path / "doc.md", theirs, "html5", args, tmp_path)
    page = ours.read_text()
    assert _strip_style(page) == _strip_style(theirs.read_text())
    png = base64.b64encode((tmp_path / "report_files" / "fig-b-1.png").read_bytes()).decode()
    assert f'src="data:image/png;base64,{png}"' in page and "report_files/" not in page


def test_any_other_resource_is_left_to_pandoc(tmp_path):
    """A page with a resource the renderer did not write (here a local image outside
    report_files) goes through --embed-resources: it is embedded, not left as a link."""
    (tmp_path / "report_files").mkdir()
    _figure(tmp_path / "report_files" / "fig-a-1.png", "C0")
    _figure(tmp_path / "logo.png", "C2")
    (tmp_path / "doc.md").write_text("![](report_files/fig-a-1.png)\n\n![](logo.png)\n")
    out = tmp_path / "out.html"
    pandoc.html(tmp_path / "doc.md", out, {}, tmp_path, str(tmp_path))
    srcs = re.findall(r'src="([^"]{0,30})', out.read_text())
    assert len(srcs) == 2 and all(s.startswith("data:image/png;base64,") for s in srcs)
