"""Incremental execution (renderer/incremental.py): only what an edit affects re-executes,
and no edit ever shows a stale value.

The renders run the real command line on a small project; what was executed is counted
from the renderer's progress lines ("[i/n] executing chunk ...", "inline N expressions").
No timing is asserted.
"""

import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mini_project import make_project

from renderer import execute, incremental, project, qmd

ROOT = Path(__file__).resolve().parents[1]
FIG = {"width": 7, "height": 5, "dpi": 50}

REPORT = """---
title: "Incremental fixture"
---

```{python}
#| tags: [parameters]
data = "data/values.csv"
scale = 2
```

```{python}
#| include: false
import yaml
from analysis.stats import total
result = total(data) * scale
label = yaml.safe_load(open("study.yml"))["label"]
values = [1, 2, 3]
```

Intro: total `{python} result`, label `{python} label`.

```{python}
print("chunk A", result)
```

```{python}
extra = result + 1
print("chunk B", extra)
```

Extra is `{python} extra`.

```{python}
#| echo: false
print("chunk C", scale)
```

Closing prose.
"""


@pytest.fixture
def proj(tmp_path):
    return make_project(tmp_path, REPORT, study="label: first\n")


@pytest.fixture(scope="module")
def warm_template(tmp_path_factory):
    """The project rendered once at ``<base>/proj``, its execution cache filled, then kept
    aside at ``<base>/template``."""
    base = tmp_path_factory.mktemp("warm")
    render(make_project(base, REPORT, study="label: first\n"))
    shutil.copytree(base / "proj", base / "template")
    return base


@pytest.fixture
def warm(warm_template):
    """A fresh copy of the rendered project at the path it was rendered in (the cache keys
    files by absolute path, so a moved project starts cold): its first render is a cache
    hit, so a test starts from a warm cache without paying a cold render."""
    p = warm_template / "proj"
    shutil.rmtree(p)
    shutil.copytree(warm_template / "template", p)
    return p


def edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


class Run:
    def __init__(self, p, args):
        self.proc = subprocess.run(
            [sys.executable, "-m", "renderer", "report.qmd", "--to", "html", *args],
            cwd=p,
            capture_output=True,
            text=True,
            timeout=300,
            env={"PYTHONPATH": f"{p}:{ROOT}", "PATH": "/usr/bin:/bin"},
        )
        self.err = self.proc.stderr
        out = p / "_output" / "report.html"
        self.html = out.read_text() if self.proc.returncode == 0 else ""

    @property
    def chunks(self):
        """Names of the chunks executed."""
        return re.findall(r"\] executing chunk (\S+)", self.err)

    @property
    def inline(self):
        m = re.search(r"^inline (\d+) expressions$", self.err, re.M)
        return int(m.group(1)) if m else 0


def render(p, *args):
    run = Run(p, args)
    assert run.proc.returncode == 0, run.err
    return run


def test_edits_execute_only_what_they_affect(proj):
    qmd_path = proj / "report.qmd"
    cold = render(proj)
    assert "cache miss (no cached execution)" in cold.err
    assert len(cold.chunks) == 5 and cold.inline == 3
    assert "total 12" in cold.html and "label first" in cold.html and "Extra is 13" in cold.html

    hit = render(proj)
    assert "cache hit: analysis not re-run" in hit.err and hit.chunks == [] and hit.html == cold.html

    # a sentence and a new inline expression: only the expression is evaluated
    edit(qmd_path, "Closing prose.", "Closing prose, ten times: `{python} result * 10`.")
    new_inline = render(proj)
    assert "setup restored, executing 0 of 3 chunks and 1 of 4 inline expressions" in new_inline.err
    assert new_inline.chunks == [] and new_inline.inline == 1
    assert "ten times: 120" in new_inline.html and "Extra is 13" in new_inline.html

    # one chunk's code: that chunk only; its new output is shown, the others are kept
    edit(qmd_path, 'print("chunk A", result)', 'print("chunk A changed", result)')
    chunk_a = render(proj)
    assert len(chunk_a.chunks) == 1 and chunk_a.inline == 0
    assert "chunk A changed 12" in chunk_a.html and "chunk C 2" in chunk_a.html

    # a chunk binding a name: it and the expression reading that name re-execute
    edit(qmd_path, "extra = result + 1", "extra = result + 5")
    chunk_b = render(proj)
    assert len(chunk_b.chunks) == 1 and chunk_b.inline == 1
    assert "Extra is 17" in chunk_b.html and "chunk B 17" in chunk_b.html

    # an option changed (as a caption would be): nothing executes, the option applies
    edit(qmd_path, "#| echo: false", "#| echo: true")
    option = render(proj)
    assert "cache hit" in option.err and option.chunks == []
    assert "chunk C 2" in option.html
    assert option.html.count("<code") > chunk_b.html.count("<code")  # the echoed source


@pytest.mark.parametrize(
    "change, expected, reason",
    [
        (("data/values.csv", "3\n", "30\n"), "total 66", "data file of parameter 'data'"),  # a data file's bytes
        (("study.yml", "label: first", "label: second"), "label second", "study/configuration file or a file it names"),
        (("analysis/stats.py", "return sum(", "return 100 + sum("), "total 212", "library file analysis/stats.py"),
        (("report.qmd", "scale = 2", "scale = 3"), "total 18", "chunk code or options, parameters"),  # a default
        (("report.qmd", "values = [1, 2, 3]", "values = [1, 2]"), "total 12", "chunk code or options"),  # setup code
    ],
)
def test_setup_inputs_execute_everything(warm, change, expected, reason):
    edit(warm / change[0], change[1], change[2])
    after = render(warm)
    # the miss is caused by this edit alone (the warm copy would otherwise hit)
    changed = re.search(r"cache miss \(changed: (.*)\)", after.err).group(1)
    assert changed.split(":")[0] == reason, changed
    assert len(after.chunks) == 5 and after.inline == 3
    assert expected in after.html


def test_parameter_override_executes_everything(warm):
    proj = warm
    after = render(proj, "-P", "scale:5")
    assert "cache miss" in after.err and len(after.chunks) == 5
    assert "total 30" in after.html and "chunk C 5" in after.html
    again = render(proj)  # back to the default: its entry is still there
    assert "cache hit" in again.err and "total 12" in again.html


def test_expression_moved_before_its_definition_fails_as_without_cache(warm):
    proj = warm
    assert "cache hit" in render(proj).err  # the copy starts warm
    edit(proj / "report.qmd", "Intro: total", "Too early: `{python} extra`. Intro: total")
    cached = Run(proj, ())
    uncached = Run(proj, ("--no-cache",))
    assert uncached.proc.returncode == 1 and "NameError" in uncached.err
    assert cached.proc.returncode == 1 and "NameError" in cached.err


def test_mutating_a_setup_object_turns_incremental_off(proj):
    mutating = "```{python}\nvalues.append(4)\n```\n\n"
    edit(proj / "report.qmd", "Closing prose.", mutating + "Values: `{python} len(values)`.")
    first = render(proj)
    assert "Values: 4" in first.html
    edit(proj / "report.qmd", "Values:", "Still `{python} sum(values)`; values:")
    second = render(proj)
    assert "incremental run not possible: a chunk after the setup modified" in second.err, second.err
    assert len(second.chunks) == 6 and "Still 10; values: 4" in second.html
    # the mutating line removed: every remaining chunk and expression has a stored
    # output, but those were computed after the mutation
    edit(proj / "report.qmd", mutating, "")
    third = render(proj)
    assert len(third.chunks) == 5 and "Still 6; values: 3" in third.html


def test_a_changed_chunk_that_mutates_the_setup_reruns_everything(proj):
    edit(proj / "report.qmd", "Closing prose.", "Values: `{python} len(values)`.")
    assert "Values: 3" in render(proj).html
    edit(proj / "report.qmd", 'print("chunk A", result)', 'values.append(4)\nprint("chunk A", result)')
    after = render(proj)
    assert "modified the setup's objects or global state; running everything" in after.err
    assert len(after.chunks) == 1 + 5  # the partial run, then everything
    assert "Values: 4" in after.html


def test_a_global_option_set_by_a_later_chunk_turns_incremental_off(proj):
    edit(proj / "report.qmd", 'print("chunk C", scale)', 'import pandas as pd\npd.set_option("display.precision", 2)')
    render(proj)
    edit(proj / "report.qmd", "Closing prose.", "New `{python} scale`.")
    after = render(proj)
    assert "incremental run not possible" in after.err and len(after.chunks) == 5


# ------------------------------------------------------------------------- static analysis
@pytest.mark.parametrize(
    "code, reads, binds",
    [
        ("x = a + 1\nprint(x)", {"a", "print"}, {"x"}),
        ("for g in groups:\n    show(g)", {"groups", "show"}, {"g"}),
        ("print(g)\nfor g in groups:\n    show(g)", {"g", "print", "groups", "show"}, {"g"}),
        ("for g in gs:\n    for e in es:\n        show(g, e)", {"gs", "es", "show"}, {"g", "e"}),
        ("for g in gs:\n    pass\nelse:\n    show(g)", {"gs", "g", "show"}, {"g"}),
        ("for g in gs:\n    for e in e_of(g, e):\n        pass", {"gs", "e_of", "e"}, {"g", "e"}),
        ("def f(y):\n    z = y + w\n    return z\n", {"w"}, {"f"}),
        ("[k * m for k in ks]", {"m", "ks"}, set()),
        ("if c:\n    x = 1\nprint(x)", {"c", "x", "print"}, {"x"}),
        ("import numpy as np\nfrom os import path", set(), {"np", "path"}),
        ("obj.attr = 1\nitems[0] = 2", {"obj", "items"}, set()),
        ("print((n := 3))", {"print"}, {"n"}),
        ("total += 1", {"total"}, {"total"}),
        ("match point:\n    case [a, *rest]:\n        pass", {"point"}, {"a", "rest"}),
    ],
)
def test_analyse_reads_and_binds(code, reads, binds):
    names = incremental.analyse(code)
    assert not names.dynamic
    assert names.reads == reads and names.binds == binds


@pytest.mark.parametrize(
    "code",
    [
        "globals()['x'] = 1",
        "%timeit 1",
        "exec('x = 1')",
        "np.random.seed(1)",
        "print(_)",
        "Out[3]",
        "from analysis.stats import *",
    ],
)
def test_dynamic_code_is_flagged(code):
    assert incremental.analyse(code).dynamic


def _plan(p):
    doc = qmd.load(p / "report.qmd")
    cfg = project.load(doc.path, doc.meta)
    nb, steps = execute.build_notebook(doc, {}, cfg.execute, FIG)
    plan = incremental.plan(doc, nb, steps, {}, cfg.execute, FIG, cfg.project_dir)
    incremental.key_units(plan, {"data", "scale", "result", "label", "values", "total", "yaml"})
    return plan


def test_prefix_and_dependencies(proj):
    plan = _plan(proj)
    kinds = [
        (u.kind, u.step.obj.code if u.kind == "inline" else u.step.obj.source.splitlines()[-1]) for u in plan.units
    ]
    assert kinds == [
        ("inline", "result"),
        ("inline", "label"),
        ("chunk", 'print("chunk A", result)'),
        ("chunk", 'print("chunk B", extra)'),
        ("inline", "extra"),
        ("chunk", 'print("chunk C", scale)'),
    ]
    assert plan.units[4].deps == [3]  # `extra` comes from chunk B
    assert all(u.deps == [] for i, u in enumerate(plan.units) if i != 4)


def test_same_expression_different_provider_different_key(proj):
    before = _plan(proj).units[4].key
    edit(proj / "report.qmd", "extra = result + 1", "extra = result + 1  # same value")
    assert _plan(proj).units[4].key != before


def test_results_objects_pickle():
    """The setup's objects (settings, data, R, text) round-trip through pickle: the snapshot
    a partial run restores."""
    from analysis.inputs.studyfile import load_settings, resolve_study
    from analysis.report.narrative import Narrative
    from analysis.report.results import compute_results

    settings = resolve_study("", cohort="", kinetics="", cutoff="")
    data = load_settings(settings)
    results = compute_results(data, **settings.analysis.model_dump())
    text = Narrative(results, settings)
    settings2, data2, results2, text2 = pickle.loads(pickle.dumps((settings, data, results, text)))
    assert Narrative(results2, settings2).title_block == text.title_block
    assert text2.count("n_patients") == text.count("n_patients")
    assert results2.survival.keys() == results.survival.keys()


def test_sized_chunks_keep_their_own_size_cells(proj):
    edit(
        proj / "report.qmd",
        "Closing prose.",
        "```{python}\n#| fig-width: 3\nprint(1)\n```\n```{python}\n#| fig-height: 2\nprint(2)\n```\n",
    )
    doc = qmd.load(proj / "report.qmd")
    cfg = project.load(doc.path, doc.meta)
    nb, steps = execute.build_notebook(doc, {}, cfg.execute, FIG)
    plan = incremental.plan(doc, nb, steps, {}, cfg.execute, FIG, cfg.project_dir)
    sized = plan.units[-2:]
    for unit, setting in zip(sized, ["(3, 5)", "(7, 2)"]):
        roles = [steps[c].role for c in unit.cells]
        assert roles == ["figsize", "chunk", "figsize"]
        assert nb.cells[unit.cells[0]].source.endswith(setting)


# --------------------------------------------------------- partial runs: what is restored
def test_a_function_of_the_setup_sees_every_setup_name(proj):
    """A function defined by the setup reads names the unit calling it does not name: the
    partial run then restores the whole setup, not only the names the unit reads."""
    edit(proj / "report.qmd", "values = [1, 2, 3]", "values = [1, 2, 3]\ndef scaled(x):\n    return x * scale")
    render(proj)
    edit(proj / "report.qmd", "Closing prose.", "Scaled: `{python} scaled(21)`.")
    after = render(proj)
    assert "setup restored, executing 0 of 3 chunks and 1 of 4 inline expressions" in after.err, after.err
    assert after.chunks == [] and "cache miss" not in after.err  # no fall-back to a full run
    assert "Scaled: 42" in after.html
    edit(proj / "report.qmd", "scaled(21)", "scaled(5)")
    assert "Scaled: 10" in render(proj).html


def test_an_expression_reading_a_module_of_the_setup(warm):
    """Modules are restored by name, only when read; the value follows the expression."""
    proj = warm  # rendered, its cache filled
    edit(proj / "report.qmd", "Closing prose.", "Loader: `{python} yaml.safe_load('[7, 8]')[1]`.")
    after = render(proj)
    assert after.chunks == [] and after.inline == 1 and "cache miss" not in after.err
    assert "Loader: 8" in after.html
    edit(proj / "report.qmd", "[7, 8]", "[7, 9]")
    assert "Loader: 9" in render(proj).html


def test_a_chunk_the_worker_cannot_reproduce_runs_in_a_kernel(warm):
    """Display updates exist only in a kernel: the partial run fails over to a full run,
    which shows the updated value."""
    proj = warm  # rendered, its cache filled
    edit(
        proj / "report.qmd",
        'print("chunk C", scale)',
        'from IPython.display import display\nhandle = display("first", display_id=True)\nhandle.update(f"updated {scale}")',
    )
    after = render(proj)
    assert "partial run failed" in after.err and "running everything" in after.err
    assert "&#39;updated 2&#39;" in after.html and "&#39;first&#39;" not in after.html
