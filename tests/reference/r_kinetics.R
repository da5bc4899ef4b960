# R references for tests/test_location.py and tests/test_kinetics_results.py (R 4.2, stats only):
# the AUC(0-28) rule, Cmax/Tmax, the Hodges-Lehmann ratios and shifts of wilcox.test(conf.int = TRUE)
# and the visit-window profile, computed from the raw demo export independently of cartox.
# Run from the repository root: Rscript tests/reference/r_kinetics.R
options(digits = 15)
k <- read.csv("data/kinetics.csv", skip = 1)
d <- read.csv("data/cohort.csv", skip = 1, na.strings = "")
k <- k[order(k$patient_id, k$day), ]

# AUC(0-28): linear trapezoid between observed days; no day-0 sample -> 0 copies at day 0;
# no day-28 sample -> linear interpolation between the samples around day 28; no extrapolation
trap <- function(x, y) sum(diff(x) * (head(y, -1) + tail(y, -1)) / 2)
auc028 <- function(day, c) {
  if (!any(day > 0 & day <= 28) || max(day) < 28) return(NA)
  if (min(day) > 0) { day <- c(0, day); c <- c(0, c) }
  c28 <- approx(day, c, xout = 28)$y
  keep <- day < 28
  trap(c(day[keep], 28), c(c[keep], c28))
}
per <- do.call(rbind, lapply(split(k, k$patient_id), function(s) data.frame(
  patient_id = s$patient_id[1], cmax = max(s$car_copies_per_ug),
  tmax = if (max(s$car_copies_per_ug) > 0) s$day[which.max(s$car_copies_per_ug)] else NA,
  auc = auc028(s$day, s$car_copies_per_ug))))
seizure <- d$seizure %in% "yes"
d$crs <- ifelse(d$crs_grade > 0, "yes", "no")
d$severity <- ifelse(d$crs_grade == 0 & d$icans_grade == 0 & !seizure, "none",
                     ifelse(d$crs_grade >= 3 | d$icans_grade >= 3 | seizure, "severe", "other"))
per <- merge(per, d[, c("patient_id", "crs", "severity")], by = "patient_id")
cat("patients", nrow(per), "with AUC", sum(!is.na(per$auc)), "sum AUC", sum(per$auc, na.rm = TRUE), "\n")
cat("AUC by patient (first 5):", format(head(per$auc, 5), digits = 15), "\n")

hl <- function(x, y, ratio) {
  x <- x[!is.na(x)]; y <- y[!is.na(y)]
  w <- suppressWarnings(if (ratio) wilcox.test(log(x), log(y), conf.int = TRUE) else wilcox.test(x, y, conf.int = TRUE))
  v <- c(w$estimate, w$conf.int)
  if (ratio) v <- exp(v)
  cat(sprintf("%.15g", c(v, w$p.value)), "\n")
}
for (g in list(c("crs", "yes", "no"), c("severity", "severe", "none"), c("severity", "other", "none"))) {
  for (m in c("cmax", "tmax", "auc")) {
    cat(g[1], g[2], "vs", g[3], m, ": ")
    hl(per[[m]][per[[g[1]]] == g[2]], per[[m]][per[[g[1]]] == g[3]], ratio = m != "tmax")
  }
}

# visit windows 7, 14, 21, 28 +- 3, 60 +- 14, 90 +- 14, 180 +- 30: per patient and visit the sample
# closest to the nominal day (the earlier on a tie); median and quartiles (type 7) by CRS
visits <- data.frame(day = c(7, 14, 21, 28, 60, 90, 180), within = c(3, 3, 3, 3, 14, 14, 30))
kk <- merge(k, d[, c("patient_id", "crs")], by = "patient_id")
for (i in seq_len(nrow(visits))) {
  v <- kk[abs(kk$day - visits$day[i]) <= visits$within[i], ]
  v <- v[order(v$patient_id, abs(v$day - visits$day[i]), v$day), ]
  v <- v[!duplicated(v$patient_id), ]
  for (lv in c("no", "yes")) {
    c <- v$car_copies_per_ug[v$crs == lv]
    cat("visit", visits$day[i], lv, "n", length(c), "quartiles", quantile(c, c(0.25, 0.5, 0.75)), "\n")
  }
}
