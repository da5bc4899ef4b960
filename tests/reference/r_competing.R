# R references for tests/test_competing.py and tests/test_landmark.py (R 4.x, cmprsk 2.2-11,
# survival 3.5-3). Run from the repository root: Rscript tests/reference/r_competing.R
library(cmprsk)
library(survival)
options(digits = 10)

# tie-heavy data with three groups -> cmprsk_ties.csv (integer times, many ties)
set.seed(1988)
n <- 150
ties <- data.frame(time = ceiling(rexp(n, 0.08)), cause = sample(0:2, n, replace = TRUE, prob = c(.3, .4, .3)),
                   group = sample(c("a", "b", "c"), n, replace = TRUE))
write.csv(ties, "tests/reference/cmprsk_ties.csv", row.names = FALSE, quote = FALSE)

ci <- function(est, var) {   # log(-log) 95% CI of a CIF
  s <- qnorm(0.975) * sqrt(var) / (est * log(est))
  cbind(low = est^exp(-s), high = est^exp(s))
}
show <- function(fit, times) {
  print(fit$Tests, digits = 12)
  tp <- timepoints(fit, times)
  print(tp$est, digits = 12); print(tp$var, digits = 12)
  print(ci(tp$est, tp$var), digits = 12)
}

cat("== ties by group\n")
show(cuminc(ties$time, ties$cause, ties$group), c(5, 12, 24))
cat("== ties, no group\n")
show(cuminc(ties$time, ties$cause), c(5, 12, 24))

# competing_demo.csv: the bundled demo's patients in CR, written by Python with
# analysis.estimators.competing.competing_frame (months from CR; status 0 censored, 1 relapse,
# 2 death without relapse) and the grouping level keys; no identifier, no date.
demo <- read.csv("tests/reference/competing_demo.csv")
for (g in c("crs", "icans", "crs_grade", "severity")) {
  cat("== demo by", g, "\n")
  show(cuminc(demo$months, demo$status, demo[[g]]), c(12, 24))
}
# a group without relapse that leaves the risk set early (test_gray_with_a_group_without_the_cause_that_leaves_early)
print(cuminc(c(1,2,2,3,4,5,6,7,8,9,10,11,12,3,4,5), c(1,2,1,0,1,2,0,1,2,1,0,1,0,2,0,2),
             c(rep("a", 9), rep("b", 4), rep("c", 3)))$Tests, digits = 12)
cat("== demo, all patients in CR\n")
show(cuminc(demo$months, demo$status), c(12, 24))
