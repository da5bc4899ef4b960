# Reference values for tests/test_comparisons.py (test_two_group_response_*): the p of a
# response rate between two groups is the test the printed odds ratio's 95% CI inverts.
# fisher.test's CI is the set of odds ratios neither one-sided conditional test rejects at
# 2.5%, so the matching two-sided p is the central one (Fay 2010, Biostatistics 11:373-4):
#   min(1, 2 * min(fisher.test(m, alternative = "less")$p.value,
#                  fisher.test(m, alternative = "greater")$p.value))
# R 4.x, base R only. Rscript tests/reference/r_response_tests.R
options(digits = 15)
central <- function(m) min(1, 2 * min(fisher.test(m, alternative = "less")$p.value,
                                      fisher.test(m, alternative = "greater")$p.value))
show <- function(a, b, c, d) {   # rows exposed (a responders, b not), reference (c, d)
  m <- matrix(c(a, c, b, d), 2)
  f <- fisher.test(m)
  x <- suppressWarnings(chisq.test(m, correct = FALSE))
  cat(sprintf("(%d, %d, %d, %d): central %.15g  fisher.test p %.15g  CI %.15g %.15g  chisq.test p %.15g  min expected %.4g\n",
              a, b, c, d, central(m), f$p.value, f$conf.int[1], f$conf.int[2], x$p.value, min(x$expected)))
}
show(1, 2, 16, 1)    # fisher.test's own p 0.046 beside its CI 0.0005-1.45
show(8, 5, 5, 14)    # chisq.test p 0.046 (expected counts >= 5) beside fisher.test's CI 0.79-26.6
show(71, 5, 15, 2)   # CR by CRS, test_response_two_levels_matches_r
show(20, 10, 8, 16)  # a clear difference: every method significant, CI above 1
show(30, 5, 27, 8)
