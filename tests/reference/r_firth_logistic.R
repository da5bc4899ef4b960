# Reference values for tests/test_firth_logistic.py: Firth-penalized logistic regression
# of a 2x2 table (Firth 1993, Biometrika 80:27-38; Heinze & Schemper 2002, Stat Med
# 21:2409-19), as R's logistf computes it by default (penalty 0.5 log det I, profile
# penalized-likelihood 95% CI, penalized likelihood-ratio test).
# logistf is not packaged in Debian, so the computation is written out here from the
# definitions, on one row per patient (the library works on the cell counts):
#   penalized log-likelihood  l*(b) = sum(y log p + (1 - y) log(1 - p)) + 0.5 log det(X' W X)
#   estimate: Newton-Raphson on Firth's modified score X'(y - p + h (1/2 - p)), h = diag of the hat matrix
#   profile CI: the values of b1 where 2 (l*(b_hat) - max over b0 of l*(b0, b1)) = qchisq(0.95, 1)
#   test: 2 (l*(b_hat) - max over b0 of l*(b0, 0)), chi-square on 1 df
# R 4.x, base R only. Rscript tests/reference/r_firth_logistic.R
options(digits = 15)

penalized <- function(b, X, y) {
  p <- plogis(drop(X %*% b))
  info <- crossprod(X, X * (p * (1 - p)))
  sum(y * log(p) + (1 - y) * log(1 - p)) + 0.5 * as.numeric(determinant(info)$modulus)
}

firth_fit <- function(X, y) {
  b <- rep(0, ncol(X))
  for (i in 1:200) {
    p <- plogis(drop(X %*% b))
    w <- p * (1 - p)
    info <- crossprod(X, X * w)
    h <- rowSums((X %*% solve(info)) * X) * w          # hat diagonal of W^1/2 X (X'WX)^-1 X' W^1/2
    step <- solve(info, crossprod(X, y - p + h * (0.5 - p)))
    b <- b + drop(step)
    if (max(abs(step)) < 1e-13) break
  }
  b
}

profile_max <- function(b1, X, y) {
  optimize(function(b0) penalized(c(b0, b1), X, y), c(-30, 30), maximum = TRUE, tol = 1e-13)$objective
}

firth_table <- function(a, b, c, d) {   # rows exposed (a responders, b not), reference (c, d)
  x <- c(rep(1, a + b), rep(0, c + d))
  y <- c(rep(1, a), rep(0, b), rep(1, c), rep(0, d))
  X <- cbind(1, x)
  est <- firth_fit(X, y)
  top <- penalized(est, X, y)
  dev <- function(v) 2 * (top - profile_max(v, X, y)) - qchisq(0.95, 1)
  lo <- uniroot(dev, c(est[2] - 20, est[2]), tol = 1e-13)$root
  hi <- uniroot(dev, c(est[2], est[2] + 20), tol = 1e-13)$root
  chisq <- 2 * (top - profile_max(0, X, y))
  c(or = exp(est[2]), lo = exp(lo), hi = exp(hi), chisq = chisq, p = pchisq(chisq, 1, lower.tail = FALSE))
}

print(firth_table(69, 7, 17, 0))   # CR by CRS in the demo: every patient without CRS responded
print(firth_table(5, 3, 0, 9))
print(firth_table(0, 5, 7, 6))
print(firth_table(12, 3, 5, 9))    # no zero cell: Firth shrinks towards 1
print(firth_table(3, 0, 0, 4))     # two zero cells
