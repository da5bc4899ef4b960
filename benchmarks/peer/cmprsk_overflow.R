#!/usr/bin/env Rscript
# Why analysis.R's Gray statistics disagree with cartox's at 10^6 patients (bench.py):
# cmprsk 2.2-11's Fortran routine crst computes `nd1*rs(i)` (events of the cause at one time
# times the risk set of group i) in 32-bit integers, so the score overflows once that product
# passes 2^31 - 1. Two groups, ties at the first time; only the product differs:
#
#   per group 30000, nd1*rs = 6e+08:   R 0.5755018318   cartox analysis.estimators.competing.gray_test 0.5755018318
#   per group 60000, nd1*rs = 2.4e+09: R 98555.86672    cartox 0.6025890782
#
# (cause 2 has no event at that time: R and cartox agree in both, 4.048477903 and 0.1588618572).
# cartox's vectorised port computes in floating point. At 10^6 synthetic patients the product
# reaches ~9 x 2^31 (NRM events on one day x patients of a group in CR at risk).
suppressPackageStartupMessages(library(cmprsk))
make <- function(per_group, tied) {
  set.seed(1)
  n <- 2 * per_group
  group <- rep(1:2, each = per_group)
  time <- round(runif(n, 1, 100))
  status <- sample(0:2, n, replace = TRUE)
  first <- c(seq_len(tied), per_group + seq_len(tied))  # `tied` cause-1 events per group at time 0.5
  time[first] <- 0.5
  status[first] <- 1
  data.frame(time, status, group)
}
for (cfg in list(c(30000, 10000), c(60000, 20000))) {
  d <- make(cfg[1], cfg[2])
  fit <- cuminc(d$time, d$status, d$group, cencode = 0)
  cat(sprintf("per group %d: nd1*rs = %.3g (2^31 - 1 = %.3g); Gray statistic cause 1 %.10g, cause 2 %.10g\n",
              cfg[1], 2 * cfg[2] * cfg[1], 2^31 - 1, fit$Tests["1", "stat"], fit$Tests["2", "stat"]))
}
