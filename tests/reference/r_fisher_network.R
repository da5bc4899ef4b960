# Reference values for tests/test_comparisons.py (FISHER_R): Fisher's exact test of r x c
# tables larger than the hand-checkable ones, as R's fisher.test (FEXACT, the network
# algorithm of Mehta & Patel 1983) computes them. Where R's default workspace refuses a
# table ("FEXACT error 7 ... LDSTP is too small"), the call is repeated with a larger one;
# the p-value does not depend on the workspace.
# R 4.2.2, base R only. Rscript tests/reference/r_fisher_network.R
tables <- list(
  five_by_six = matrix(c(2,3,2,3,2,1, 2,0,3,3,2,3, 1,1,2,1,0,1, 2,1,2,2,1,2, 3,3,3,0,1,2), 5, byrow = TRUE),
  three_by_six = matrix(c(4,8,7,8,2,2, 5,0,2,3,8,8, 3,6,4,0,3,6), 3, byrow = TRUE)
)
for (name in names(tables)) {
  m <- tables[[name]]
  r <- try(fisher.test(m), silent = TRUE)
  how <- "fisher.test(m)"
  if (inherits(r, "try-error")) {
    r <- fisher.test(m, workspace = 2e8)
    how <- "fisher.test(m, workspace = 2e8) (the default workspace refuses)"
  }
  cat(name, ":", how, "->", format(r$p.value, digits = 12), "\n")
}
# Printed:
# five_by_six : fisher.test(m) -> 0.968108924024
# three_by_six : fisher.test(m, workspace = 2e8) (the default workspace refuses) -> 0.000983480885764
