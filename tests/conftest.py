"""Shared helpers for the rendered-report tests (end-to-end, degenerate cohorts, privacy).

Renders go through the real command line (``python -m renderer report.qmd ...``) in a
subprocess with ``--no-cache``, so every render executes the analysis (the execution
cache would otherwise answer) and never writes cache entries into the project.
"""

from __future__ import annotations

import gc
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from concurrent.futures import Future
from dataclasses import dataclass
from functools import cached_property
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent

# The test processes keep thousands of live objects (results, frames, figures): with Python's
# default thresholds (700, 10, 10) the cycle collector ran ~2,400 times in 270 quick tests and
# took ~9% of their CPU; collecting less often took a third of that (issue 23). Only when the
# test processes collect changes, not what.
gc.set_threshold(10_000, 20, 20)
# A team's own study.yml at the project root is not read by the tests (nor by the commands
# they start): the tests check the bundled demo (review 30: a new user's make test failed 98).
os.environ["CARTOX_IGNORE_DEFAULT_STUDY_IN"] = str(ROOT)
REPORT = ROOT / "report.qmd"
SUPPLEMENT = ROOT / "supplement.qmd"
COHORT = ROOT / "data" / "cohort.csv"
KINETICS = ROOT / "data" / "kinetics.csv"
QMD_SOURCES = [REPORT, SUPPLEMENT, *sorted((ROOT / "sections").glob("*.qmd"))]
RENDER_TIMEOUT = 600

#: Words a missing value turns into when it reaches the text unformatted (the prose
#: avoids a sentence-initial "None" so that this can stay strict).
LEAKED_MISSING = re.compile(r"\b(?:nan|NaN|NAN|NaT|inf|None)\b")


# --------------------------------------------------------------------------- the manuscript sources


def report_parameter(name: str) -> str:
    """Default value of a parameter of the report's `parameters` cell; for the data
    settings, which default to "not given" there, the bundled demo's value."""
    if name == "cutoff":
        from analysis.inputs.studyfile import DEMO_CUTOFF

        return DEMO_CUTOFF
    match = re.search(rf'^{name}\s*=\s*"([^"]*)"', REPORT.read_text(encoding="utf-8"), re.MULTILINE)
    assert match, f"parameter {name!r} not found in report.qmd"
    return match.group(1)


_CONDITIONAL = re.compile(
    r"^::: \{\.(content-visible|content-hidden) "
    r'when-meta="cartox\.(kinetics|reproduction|hsct|mrd|not_collected|not_done|astct|caveats|adjusted_direction)"\}\n(.*?)^:::\n',
    re.MULTILINE | re.DOTALL,
)


def source_text(path: Path, kinetics: bool = True, reproduction: bool = True, hsct: bool = True, **other: bool) -> str:
    """A qmd source as rendered: the conditional divs on `cartox.kinetics` (a kinetics
    table), `cartox.reproduction` (the bundled demo's comparison with the publication),
    `cartox.hsct` (transplants after CAR-T recorded and analysed), `cartox.astct` (the
    analysis plan's grading system is ASTCT's, cited) and the registry's flags (``other``;
    defaults: MRD collected, every optional column collected, no assessment "not done", as
    in the demo and its variants) resolved."""
    flags = {
        "kinetics": kinetics,
        "reproduction": reproduction,
        "hsct": hsct,
        "mrd": True,
        "not_collected": False,
        "not_done": False,
        "astct": True,
        "caveats": False,
        "adjusted_direction": False,
        **other,
    }

    def keep(m):
        shown = (m.group(1) == "content-visible") == flags[m.group(2)]
        return m.group(3) if shown else ""

    return _CONDITIONAL.sub(keep, path.read_text(encoding="utf-8"))


def document_sources(document: str = "report") -> list[Path]:
    """The qmd files of one document ("report": the manuscript, or "supplement"), in the
    order they are included."""
    out = []

    def visit(path: Path) -> None:
        out.append(path)
        for name in re.findall(r"^\{\{< include (\S+) >\}\}", path.read_text(encoding="utf-8"), re.MULTILINE):
            visit(path.parent / name)

    visit(ROOT / f"{document}.qmd")
    return out


def _chunk_options(
    kinetics: bool = True, document: str = "report", hsct: bool = True, reproduction: bool = True
) -> list[dict]:
    options = []
    for path in document_sources(document):
        text = source_text(path, kinetics, reproduction, hsct=hsct)
        for block in re.findall(r"```\{python\}[^\n]*\n((?:#\|[^\n]*\n)+)", text):
            options.append(yaml.safe_load("".join(line[3:] + "\n" for line in block.splitlines())) or {})
    return options


def captions(
    kinetics: bool = True, document: str = "report", hsct: bool = True, reproduction: bool = True
) -> dict[str, list[str]]:
    """Figure and table captions (fig-cap, tbl-cap) and sub-captions of one document's qmd
    sources, as written (``kinetics=False``: as rendered without a kinetics table; ``hsct=False``:
    without the transplant analyses; ``reproduction=False``: of a cohort other than the bundled
    demo, without the publication's model)."""
    out = {"fig-cap": [], "tbl-cap": [], "fig-subcap": []}
    for opts in _chunk_options(kinetics, document, hsct, reproduction):
        for key in ("fig-cap", "tbl-cap"):
            if key in opts:
                out[key].append(str(opts[key]))
        out["fig-subcap"] += [str(s) for s in opts.get("fig-subcap") or []]
    return out


# --------------------------------------------------------------------------- rendering


def render_report(
    out_dir: Path,
    *,
    cohort: Path | None = None,
    kinetics: str | Path | None = None,
    to: str = "html",
    study: Path | None = None,
    supplement: bool = False,
    warm: bool = True,
) -> subprocess.CompletedProcess:
    """Render report.qmd (and ``supplement``: supplement.qmd with it, as `make report` does)
    with the built-in renderer into `out_dir` (``kinetics=""``: no table; ``warm``: the
    light worker forked by a zygote, :func:`warm_env`).

    A cohort variant made from the demo gets the demo's cut-off and, unless ``kinetics``
    is given, the demo's kinetics table; ``study``: a study file instead. The inline values
    are logged to :func:`inline_log_of` `out_dir`.
    """
    return subprocess.run(
        _render_command(out_dir, cohort, kinetics, to, study, supplement),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RENDER_TIMEOUT,
        env=warm_env() if warm else None,
    )


def inline_log_of(out_dir: Path) -> Path:
    """Where a render into `out_dir` logs its inline values (beside it: the renderer replaces
    the output folder as a whole)."""
    return out_dir.parent / f"{out_dir.name}.inline.jsonl"


def _render_command(out_dir, cohort, kinetics, to, study=None, supplement=False) -> list[str]:
    documents = [str(REPORT), *([str(SUPPLEMENT)] if supplement else [])]
    cmd = [
        sys.executable,
        "-m",
        "renderer",
        *documents,
        "--to",
        to,
        "--output-dir",
        str(out_dir),
        "--no-cache",
        "--inline-log",
        str(inline_log_of(out_dir)),
    ]
    if study is not None:
        cmd += ["--study", str(study)]
    if cohort is not None:
        cmd += ["--cohort", str(cohort), "--cutoff", report_parameter("cutoff")]
        if kinetics is None:
            kinetics = KINETICS
    if kinetics is not None:
        cmd += ["--kinetics", str(kinetics)]
    return cmd


# --------------------------------------------------------------------------- reading the outputs


class _TextParser(HTMLParser):
    """Visible text of an HTML page (script and style contents left out; entities decoded)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def normalise(text: str) -> str:
    """Collapse whitespace, drop soft hyphens, plain quotes for typographic ones."""
    text = text.replace("\u00ad", "").translate(str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'}))
    return re.sub(r"\s+", " ", text).strip()


def html_text(path: Path) -> str:
    return html_text_of(path.read_text(encoding="utf-8"))


def html_text_of(markup: str) -> str:
    parser = _TextParser()
    parser.feed(markup)
    return normalise(" ".join(parser.parts))


def html_markup(path: Path) -> str:
    """The HTML source with embedded data: URIs (base64 images, fonts) cut out."""
    return re.sub(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+", "data:", path.read_text(encoding="utf-8"))


def pdf_text(path: Path) -> str:
    from layout import pdf_pages  # tests/layout.py: extracted once per file version

    text = " ".join(pdf_pages(path))
    # a line broken after a word's own hyphen ("chi-" / "square") or en dash ("Benjamini–" /
    # "Hochberg") is one word, as in the source
    return normalise(re.sub(r"(?<=\w)([-–])\n(?=\w)", r"\1", text))


def docx_xml(path: Path) -> str:
    """Every XML part of a .docx (document, notes, headers, properties), concatenated."""
    with zipfile.ZipFile(path) as z:
        return "\n".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith((".xml", ".rels")))


def docx_text(path: Path) -> str:
    """Text runs (w:t) of word/document.xml (python-docx is not a dependency)."""
    import html

    with zipfile.ZipFile(path) as z:
        xml = z.read("word/document.xml").decode("utf-8")
    # paragraph ends become spaces so that words of adjacent paragraphs do not merge
    xml = re.sub(r"</w:p>", "<w:t> </w:t>", xml)
    runs = re.findall(r"<w:t(?:\s[^>]*)?>([^<]*)</w:t>", xml)
    return normalise(html.unescape("".join(runs)))


@dataclass
class Rendered:
    """One render's output directory, with its texts read on first use."""

    out_dir: Path
    stderr: str = ""
    stem: str = "report"  # the document: "report" (the manuscript) or "supplement"

    @cached_property
    def supplement(self) -> Rendered:
        """The supplement rendered with the manuscript (the same folder; one object, so that
        its texts are read once per session for every test of a session render)."""
        return Rendered(self.out_dir, self.stderr, "supplement")

    @property
    def html(self) -> Path:
        return self.out_dir / f"{self.stem}.html"

    @property
    def pdf(self) -> Path:
        return self.out_dir / f"{self.stem}.pdf"

    @property
    def docx(self) -> Path:
        return self.out_dir / f"{self.stem}.docx"

    @property
    def inline_log(self) -> Path:
        return inline_log_of(self.out_dir)

    @cached_property
    def html_text(self) -> str:
        return html_text(self.html)

    @cached_property
    def html_markup(self) -> str:
        return html_markup(self.html)

    @cached_property
    def pdf_text(self) -> str:
        return pdf_text(self.pdf)

    @cached_property
    def docx_text(self) -> str:
        return docx_text(self.docx)

    @cached_property
    def docx_xml(self) -> str:
        return docx_xml(self.docx)


def read_cohort_text(path: Path = COHORT) -> tuple[str, pd.DataFrame]:
    """(comment header line(s), cells as text) of a cohort CSV, to derive valid variants."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = "".join(line for line in lines if line.startswith("#"))
    frame = pd.read_csv(path, comment=None, skiprows=header.count("\n"), dtype=str, keep_default_na=False)
    return header, frame


def write_cohort_text(path: Path, header: str, frame: pd.DataFrame) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(header)
        frame.to_csv(fh, index=False)
    return path


# --------------------------------------------------------------------------- fixtures

#: Fixtures that render a report: every test using one is marked `slow` (`make test-fast`
#: leaves it out).
RENDERING_FIXTURES = {
    "bundled_render",
    "degenerate",
    "hostile",
    "redcap_report",
    "rendered",
    "rendered_demos",
    "renders",
    "users_report",
}
#: Modules whose tests start Jupyter kernels, run the command line in subprocesses on whole
#: exports, or time scripts: marked `slow` too, so that `make test-fast` is the quick loop
#: of the statistics, readers and text (``make test``, which CI runs, runs them all).
SLOW_MODULES = {"test_benchmarks", "test_edge_cohorts", "test_editor", "test_incremental", "test_redcap", "test_worker"}


def pytest_collection_modifyitems(items):
    for item in items:
        module = getattr(item, "module", None)
        if RENDERING_FIXTURES & set(getattr(item, "fixturenames", ())) or (
            module is not None and module.__name__.rpartition(".")[2] in SLOW_MODULES
        ):
            item.add_marker(pytest.mark.slow)
    # The tests that read a render run last: the renders (started in the background when
    # collection ends) proceed while the other tests run.
    items.sort(key=lambda item: item.get_closest_marker("slow") is not None)


# --------------------------------------------------------------------------- renders in the background
#
# A render is a subprocess (renderer and kernel) that the tests only read afterwards. The
# renders the selected tests need are started when collection ends, one at a time on a
# worker thread, so that they use the second core while the in-process tests run on the
# first; a render fixture then waits for its own render only.


@dataclass(frozen=True)
class RenderSpec:
    modules: tuple[str, ...]  # the test modules that read the render
    prepare: object  # (directory) -> keyword arguments of `run`
    out_name: str = "out"
    run: object = None  # (output directory, **keywords) -> finished process; None: render_report
    long: bool = False  # started before the others (real Quarto: a minute or more)


RENDER_SPECS: dict[str, RenderSpec] = {}


def register_render(key: str, modules: tuple[str, ...], prepare, *, run=None, long: bool = False) -> None:
    """Declare a render (``prepare(directory)`` writes its inputs and returns the keyword
    arguments of :func:`render_report`, or of `run` when given), started early if a selected
    slow test of one of `modules` (module names, e.g. "test_privacy") needs it; the `long`
    ones first, so that the longest render does not start last and keep a worker waiting."""
    RENDER_SPECS[key] = RenderSpec(modules, prepare, run=run, long=long)


#: What real Quarto needs of the project: it renders a copy (it writes beside its sources).
QUARTO_PROJECT_FILES = (
    "report.qmd",
    "supplement.qmd",
    "_quarto.yml",
    "references.bib",
    "vancouver.csl",
    "typst-include.typ",
    "typst-supplement.typ",
    "cartox-reference.docx",
)
QUARTO_PROJECT_DIRS = ("sections", "analysis", "data", "filters", "renderer")


def render_with_quarto(
    out_dir: Path, *, documents: tuple[str, ...] = ("report.qmd",), quarto_args: tuple[str, ...] = ()
) -> subprocess.CompletedProcess:
    """Render `documents` with real Quarto (``python -m renderer.quarto``, every format of
    _quarto.yml) from a copy of the project beside `out_dir` into `out_dir`; `quarto_args`
    go to ``quarto render`` (e.g. ``-P study:PATH``). A `run` of :func:`register_render`."""
    project = out_dir.parent / "project"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir()
    for name in QUARTO_PROJECT_FILES:
        shutil.copy2(ROOT / name, project / name)
    for name in QUARTO_PROJECT_DIRS:
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "QUARTO_PYTHON": sys.executable, "PYTHONPATH": str(project)}
    # the copy is the project's working tree: its git repository describes it, so that the
    # code availability statement names the same commit (and local changes) as a render of
    # the project itself (tests/test_quarto_parity.py compares them with the bundled render)
    git_dir = subprocess.run(["git", "rev-parse", "--absolute-git-dir"], cwd=ROOT, capture_output=True, text=True)
    if git_dir.returncode == 0:
        env.update(GIT_DIR=git_dir.stdout.strip(), GIT_WORK_TREE=str(ROOT))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "renderer.quarto",
            *documents,
            "--output-dir",
            str(out_dir),
            *(["--", *quarto_args] if quarto_args else []),
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )


class _BackgroundRenders:
    """Renders shared by every test process of the session. Under pytest-xdist (``make
    test`` runs two workers) each render is produced once, by the worker that takes its
    file lock first; a worker finding a render under way goes on to the next one and
    reads the result from the shared folder when it is done. A test that needs a render
    nobody has started yet renders it itself (see :meth:`result`)."""

    def __init__(self):
        if _XDIST_WORKER:
            self.base = _shared_render_folder(os.getppid())  # the parent: pytest-xdist's main process
            self.base.mkdir(exist_ok=True)
        else:
            self.base = Path(tempfile.mkdtemp(prefix="cartox-test-renders-"))
        self.futures: dict[str, Future] = {}
        self.thread: threading.Thread | None = None
        self.stop = threading.Event()

    def _render_once(self, key: str, wait: bool) -> bool:
        """Render `key` unless done; False when another process holds it and not `wait`."""
        import fcntl

        spec = RENDER_SPECS[key]
        with open(self.base / f"{key}.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                return False
            done = self.base / f"{key}.result.json"
            if not done.exists():
                directory = self.base / key
                shutil.rmtree(directory, ignore_errors=True)
                directory.mkdir()
                proc = (spec.run or render_report)(directory / spec.out_name, **spec.prepare(directory))
                done.write_text(
                    json.dumps(
                        {"args": proc.args, "returncode": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}
                    )
                )
        return True  # the lock is released when its file closes

    def _result(self, key: str) -> tuple[subprocess.CompletedProcess, Path]:
        result = json.loads((self.base / f"{key}.result.json").read_text())
        proc = subprocess.CompletedProcess(result["args"], result["returncode"], result["stdout"], result["stderr"])
        return proc, self.base / key / RENDER_SPECS[key].out_name

    def _work(self, keys: list[str]) -> None:
        pending = list(keys)
        while pending and not self.stop.is_set():
            for key in list(pending):
                try:
                    finished = self._render_once(key, wait=False)
                    if finished:
                        self.futures[key].set_result(self._result(key))
                except BaseException as exc:  # reported by the test that reads the render
                    self.futures[key].set_exception(exc)
                    finished = True
                if finished:
                    pending.remove(key)
            if pending:
                time.sleep(0.2)  # every remaining render is under way in another process

    def start(self, keys: list[str]) -> None:
        """Produce `keys` in this order on a background thread."""
        for key in keys:
            self.futures[key] = Future()
        self.thread = threading.Thread(target=self._work, args=(keys,), name="render", daemon=True)
        self.thread.start()

    def result(self, key: str) -> tuple[subprocess.CompletedProcess, Path]:
        if key in self.futures and self.futures[key].done():
            return self.futures[key].result()
        # Not done yet (or not announced at collection: a test selected by -k): a render that
        # no process has started is rendered here rather than waited for behind the renders
        # queued before it (a worker sat 400 s in test_redcap's setup while both render
        # threads worked through the queue); one under way is waited for (its file lock).
        self._render_once(key, wait=True)
        return self._result(key)


def _shared_render_folder(main_pid: int) -> Path:
    return Path(tempfile.gettempdir()) / f"cartox-test-renders-xdist-{main_pid}"


#: Whether this process is a pytest-xdist worker.
_XDIST_WORKER = "PYTEST_XDIST_WORKER" in os.environ
_BACKGROUND = _BackgroundRenders()


def background_render(key: str) -> tuple[subprocess.CompletedProcess, Path]:
    """(finished process, output directory) of a registered render, waiting for it."""
    return _BACKGROUND.result(key)


def pytest_collection_finish(session):
    if session.config.option.collectonly:
        return  # nothing will read a render (``pytest --collect-only`` rendered the reports)
    first_use: dict[str, int] = {}
    for position, item in enumerate(session.items):
        if item.get_closest_marker("slow"):
            first_use.setdefault(Path(str(item.fspath)).stem, position)
    needed = {
        key: min(first_use[m] for m in spec.modules if m in first_use)
        for key, spec in RENDER_SPECS.items()
        if set(spec.modules) & set(first_use)
    }
    # the long ones first, then in the order the tests will read them
    _BACKGROUND.start(sorted(needed, key=lambda key: (not RENDER_SPECS[key].long, needed[key])))


# --------------------------------------------------------------------------- warm workers
#
# The renders without the execution cache (the reports rendered in the background, the
# disease demos) take their light worker from a zygote (renderer.zygote): forked with
# IPython, matplotlib, pandas and SciPy imported, instead of a process that imports them
# for every document (about 2 of the 5 CPU-s of a report rendered to HTML). One zygote per
# test process, started by its first such render; the bundled render, which the most tests
# read, starts its workers as processes, as `make report` does.


#: The string hash seed of the warm renders, drawn for each session: a new process draws one
#: of its own, a forked worker has its zygote's, so the zygote serves only renders whose seed
#: is fixed (and the same as its own).
WARM_HASH_SEED = str(random.SystemRandom().randrange(1, 2**32))


class _Zygote:
    def __init__(self):
        self.proc: subprocess.Popen | None = None
        self.folder: Path | None = None
        self.lock = threading.Lock()  # the background renders' thread and the tests'

    def socket(self) -> str:
        with self.lock:
            if self.proc is None:
                from renderer import zygote

                self.folder = Path(tempfile.mkdtemp(prefix="cartox-test-zygote-"))
                env = {**os.environ, "PYTHONHASHSEED": WARM_HASH_SEED}
                self.proc = zygote.start(self.folder / "socket", cwd=ROOT, env=env)
            return str(self.folder / "socket")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait()  # its workers' CPU time then counts in this process's children
            shutil.rmtree(self.folder, ignore_errors=True)


_ZYGOTE = _Zygote()


def warm_env() -> dict[str, str]:
    """This process's environment naming the test processes' zygote (see above), for a
    render run without the execution cache."""
    from renderer.zygote import ENV_VAR

    return {**os.environ, ENV_VAR: _ZYGOTE.socket(), "PYTHONHASHSEED": WARM_HASH_SEED}


def pytest_sessionfinish(session):
    _BACKGROUND.stop.set()
    if _BACKGROUND.thread is not None:
        _BACKGROUND.thread.join()
    _ZYGOTE.stop()
    if not _XDIST_WORKER:  # without xdist, or xdist's main process after every worker
        shutil.rmtree(_BACKGROUND.base, ignore_errors=True)
        shutil.rmtree(_shared_render_folder(os.getpid()), ignore_errors=True)


register_render(
    "bundled",
    ("test_privacy", "test_report_e2e", "test_layout", "test_pvalues", "test_review_findings", "test_quarto_parity"),
    lambda directory: {"to": "html,pdf,docx", "supplement": True, "warm": False},  # as `make report`
    long=True,  # read by six modules, the longest render of the built-in renderer
)


@pytest.fixture(scope="session")
def bundled_render() -> Rendered:
    """The bundled report, manuscript and supplement, rendered once per session to html, pdf and docx."""
    proc, out = background_render("bundled")
    assert proc.returncode == 0, f"render of the bundled report failed:\n{proc.stderr[-3000:]}"
    return Rendered(out, proc.stderr)


@pytest.fixture(scope="session")
def bundled_study():
    from analysis.inputs.loading import load_study
    from analysis.inputs.studyfile import DEMO_SCREENING

    # the demo's declared screening (none excluded), as the report loads it
    return load_study(COHORT, KINETICS, report_parameter("cutoff"), exclusions=DEMO_SCREENING.exclusions)


@pytest.fixture(scope="session")
def bundled_results(bundled_study):
    from analysis.report.results import compute_results

    return compute_results(bundled_study)


@pytest.fixture(scope="session")
def all_crs_results(bundled_study):
    """The demo without its patients free of CRS (76 patients, all with CRS; attack 29): "concurrent
    CRS and ICANS versus others" then divides the patients exactly as "ICANS versus no ICANS", and
    LFS and EFS differ by ICANS grade (log-rank p 0.006 and 0.011)."""
    import dataclasses

    from analysis.report.results import compute_results

    cohort = bundled_study.cohort[bundled_study.cohort["crs_grade"].astype(float) > 0]
    kinetics = bundled_study.kinetics[bundled_study.kinetics["patient_id"].isin(cohort["patient_id"])]
    return compute_results(dataclasses.replace(bundled_study, cohort=cohort, kinetics=kinetics))
