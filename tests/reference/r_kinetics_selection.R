# Reference values for tests/test_kinetics.py (test_kinetics_subset_*): the demo's patients
# with CAR-T kinetics data against the others, on the baseline characteristics and the
# toxicities (how the kinetics subset was selected, STROBE 12c/14a), with Table 1's tests:
# wilcox.test (exact below 50 per group without ties, else normal with correction) and
# chisq.test(correct = FALSE), or fisher.test when an expected count is below 5.
# R 4.x, base R only. Rscript tests/reference/r_kinetics_selection.R (from the repository root)
options(digits = 15)
cohort <- read.csv("data/cohort.csv", comment.char = "#")
kinetics <- read.csv("data/kinetics.csv", comment.char = "#")
with_k <- cohort$patient_id %in% kinetics$patient_id
cat("with kinetics:", sum(with_k), "of", nrow(cohort), "\n")
for (v in c("age", "prior_lines", "n_relapses", "bm_blasts_pct", "cart_dose_1e6_per_kg")) {
  t <- suppressWarnings(wilcox.test(cohort[[v]][with_k], cohort[[v]][!with_k]))
  cat(sprintf("%s: median %s vs %s, wilcox.test p %.15g\n", v, median(cohort[[v]][with_k]),
              median(cohort[[v]][!with_k]), t$p.value))
}
tab <- function(x) {
  m <- table(factor(with_k, c(TRUE, FALSE)), x)
  e <- suppressWarnings(chisq.test(m, correct = FALSE))$expected
  p <- if (min(e) >= 5) suppressWarnings(chisq.test(m, correct = FALSE))$p.value else fisher.test(m)$p.value
  list(m = m, p = p, test = if (min(e) >= 5) "chisq" else "fisher")
}
for (v in c("sex", "ph_positive", "disease_status")) {
  r <- tab(cohort[[v]]); cat(v, r$test, sprintf("%.15g", r$p), "\n"); print(r$m)
}
r <- tab(cohort$crs_grade > 0); cat("crs_any", r$test, sprintf("%.15g", r$p), "\n"); print(r$m)
r <- tab(cohort$icans_grade > 0 | cohort$seizure == "yes"); cat("icans_any", r$test, sprintf("%.15g", r$p), "\n"); print(r$m)
