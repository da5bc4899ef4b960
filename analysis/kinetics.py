"""CAR-T kinetics (Figure 4): per-patient Cmax, Tmax, AUC(0-28) and group comparisons.

CONTRACT:
- patient_kinetics(kinetics) -> DataFrame indexed by patient_id with columns
  peak_copies (Cmax), peak_day (Tmax, first day reaching the max), auc_0_28 (trapezoidal,
  copies·day/µg, over samples with 0 <= day <= 28).
- compare_peak(prepared_cohort, kinetics, grouping) -> comparisons.Comparison with
  variable "peak_copies" (Mann-Whitney / Kruskal-Wallis, same rule as Table 1).
- kinetics_profile(prepared_cohort, kinetics, grouping) -> DataFrame columns
  [level, day, n, median, q1, q3] for the over-time panel.
"""
