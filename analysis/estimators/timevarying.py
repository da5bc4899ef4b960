"""Exposures that begin after time zero: counting-process data (R ``survival::tmerge``).

CRS, ICANS or a transplant after CAR-T begin days after infusion. A Cox model or a
log-rank test that classifies every patient by an exposure known only later treats it as
present from time zero and credits the exposed group with the time before its onset
(immortal time bias). The standard answer is to let the exposure change during follow-up:
each patient's follow-up is cut at the onset day into intervals ``(start, stop]``, and an
interval carries the exposure status in force during it. This module builds those
intervals, as R's ``tmerge``::

    td <- tmerge(d, d, id = id, death = event(time, status))            # one interval (0, time]
    td <- tmerge(td, d, id = id, crs = tdc(crs_onset), icans = tdc(icans_onset))
    coxph(Surv(tstart, tstop, death) ~ crs + icans, data = td)

:func:`counting_process` is generic: any clock (days, months), any number of onset
columns (an onset missing, ``NaN``, means the exposure never began). Its conventions
are ``tmerge``'s:

* a patient's follow-up ``(0, time]`` is split at each distinct onset strictly inside it
  (``0 < onset < time``); onsets on the same day make one split;
* an interval carries exposure ``name`` = 1 when the onset is on or before its start
  (``tdc``: the value changes *after* the onset time, so an event on the onset day is
  counted before it); an onset at or before time 0 means exposed from the start, an onset
  at or after the end of follow-up never counts;
* the event is on the patient's last interval only;
* follow-up of length 0 (an event or censoring at time 0) gives no interval at all:
  ``Surv(tstart, tstop)`` needs ``tstop > tstart`` (R stops with "Stop time must be >
  start time"). Such patients are not silently lost: :attr:`CountingProcess.n_zero_time`
  counts them for the report to state.

Rows are built with NumPy only (no per-patient loop), one pass per onset column; the
exposures are 0/1 ``int8`` arrays, so 10^6 patients with two onsets (up to 3 x 10^6
intervals) take ~60 MB.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Why a patient with no follow-up time has no interval (R: "Stop time must be > start time").
ZERO_TIME_REASON = (
    "follow-up of length 0 (event or censoring on the day of the time origin): no interval "
    "(start, stop] with stop > start, as R's Surv(tstart, tstop, event) requires"
)


@dataclass(frozen=True)
class CountingProcess:
    """Counting-process data: one row per (patient, interval), ordered by patient then start.

    ``patient`` is the position (0..n-1) of the patient in the arrays given to
    :func:`counting_process` (``frame(index=...)`` maps it to any index); ``exposed[name]``
    is 1 on the intervals after the onset of ``name``.
    """

    patient: np.ndarray  # int64, position of the patient in the input
    start: np.ndarray  # float64
    stop: np.ndarray  # float64
    event: np.ndarray  # bool: the event ends this interval
    exposed: dict[str, np.ndarray]  # name -> int8 0/1 per interval
    n_patients: int  # patients given (those with no interval included)
    n_zero_time: int  # patients with follow-up 0: no interval (ZERO_TIME_REASON)

    @property
    def n_rows(self) -> int:
        return int(self.patient.size)

    def frame(self, index=None) -> pd.DataFrame:
        """The intervals as a DataFrame (``tstart``, ``tstop``, ``event`` and one column per
        exposure, as R's tmerge); ``index``: labels of the input rows, put in column ``id``."""
        ids = self.patient if index is None else np.asarray(index)[self.patient]
        return pd.DataFrame(
            {
                "id": ids,
                "tstart": self.start,
                "tstop": self.stop,
                "event": self.event,
                **{name: values for name, values in self.exposed.items()},
            }
        )


def counting_process(time, event, onsets: Mapping[str, object]) -> CountingProcess:
    """Split each patient's follow-up ``(0, time]`` at the onsets of the exposures.

    ``time``: follow-up of each patient from the time origin (event or censoring), on any
    clock; ``event``: whether follow-up ended with the event; ``onsets``: exposure name ->
    onset time of each patient on the same clock (NaN/None: never exposed). See the module
    docstring for the conventions (R ``tmerge`` with ``event()`` and ``tdc()``).

    >>> cp = counting_process([10, 8], [True, False], {"crs": [3, np.nan]})
    >>> cp.frame()[["id", "tstart", "tstop", "event", "crs"]].values.tolist()
    [[0, 0.0, 3.0, False, 0], [0, 3.0, 10.0, True, 1], [1, 0.0, 8.0, False, 0]]
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    n = time.size
    if event.shape != time.shape:
        raise ValueError(f"time and event differ in length ({time.size} and {event.size})")
    if np.isnan(time).any() or (time < 0).any():
        raise ValueError("follow-up times must be known and >= 0 (a patient without one belongs to no risk set)")
    names = list(onsets)
    onset = np.empty((n, len(names)))
    for j, name in enumerate(names):
        values = pd.Series(onsets[name]).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        if values.shape != time.shape:
            raise ValueError(f"onsets of {name!r} differ in length from the follow-up times")
        onset[:, j] = values
    keep = time > 0
    # cut points strictly inside (0, time); equal onsets make one cut
    cuts = np.where((onset > 0) & (onset < time[:, None]), onset, np.inf)
    cuts.sort(axis=1)
    if cuts.shape[1] > 1:
        cuts[:, 1:][cuts[:, 1:] == cuts[:, :-1]] = np.inf
        cuts.sort(axis=1)
    cuts[~keep] = np.inf
    n_cuts = np.isfinite(cuts).sum(axis=1)
    rows = np.where(keep, n_cuts + 1, 0)
    patient = np.repeat(np.arange(n, dtype=np.int64), rows)
    # position of each row within its patient: 0, 1, ...
    first_row = np.concatenate([[0], np.cumsum(rows)[:-1]])
    k = np.arange(patient.size, dtype=np.int64) - first_row[patient]
    # boundaries per patient: 0, cuts..., time
    bounds = np.concatenate([np.zeros((n, 1)), cuts, np.full((n, 1), np.inf)], axis=1)
    bounds[np.arange(n), n_cuts + 1] = time
    start = bounds[patient, k]
    stop = bounds[patient, k + 1]
    last = k == n_cuts[patient]
    exposed = {name: (onset[patient, j] <= start).astype(np.int8) for j, name in enumerate(names)}
    return CountingProcess(
        patient=patient,
        start=start,
        stop=stop,
        event=event[patient] & last,
        exposed=exposed,
        n_patients=int(n),
        n_zero_time=int((~keep).sum()),
    )
