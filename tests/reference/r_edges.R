# Reference values for tests/test_edge_cohorts.py (medians that R prints as NA).
# R 4.x, survival 3.5-x: print.survfit's median and its 95% limits (log CI, as the library).
library(survival)
p <- function(t, e) print(summary(survfit(Surv(t, e) ~ 1))$table[c("median", "0.95LCL", "0.95UCL")], digits = 12)
p(c(0, 0, 0), c(1, 1, 1))      #  0   NA  NA   everyone dead on day 0
p(c(1, 2, 3, 4), c(1, 1, 1, 1)) #  2.5 1   NA   everyone dies: S reaches 0 at 4
p(c(5, 6, 7), c(0, 1, 0))      #  6   6   NA   the upper curve stays at 1 (S > 0 throughout)
p(c(1, 2, 3), c(0, 0, 1))      #  3   NA  NA   the only death is the last time: S = 0 there
p(c(0, 0, 0), c(0, 0, 0))      #  NA  NA  NA   no follow-up beyond day 0
