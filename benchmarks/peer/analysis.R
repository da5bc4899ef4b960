#!/usr/bin/env Rscript
# The R peer of cartox's analysis: every statistic of analysis.report.results.compute_results,
# written as an R user would (survival, cmprsk, data.table for reading and grouping),
# on the same CSV exports. A benchmark anchor, not part of cartox (which never needs R).
#
#   Rscript benchmarks/peer/analysis.R COHORT.csv [KINETICS.csv | none] \
#       [--cutoff 2023-03-01] [--landmark-day 30] [--alpha 0.05] [--json results.json]
#
# Prints the time of each stage (wall and CPU seconds) to stderr and, as its last line on
# stdout, the timings as JSON (read by benchmarks/bench.py). --json writes the results under
# the same keys as cartox's results JSON (docs/results.md) where a statistic has one, so
# that benchmarks/peer/compare.py can compare every number with cartox's.
#
# Statistics, each the R call cartox reproduces:
#   Table 1 (12 variables x crs, icans, concurrent): median (range); wilcox.test / kruskal.test;
#     chisq.test(correct = FALSE), or fisher.test when an expected count is < 5 (gtsummary's rule;
#     at registry scale every table is chi-square: fisher.test would run out of workspace)
#   Response (CR, MRD-negative CR) x 8 groupings: binom.test CIs, the same table test;
#     two-level groupings: Newcombe hybrid-score difference (Wilson limits of prop.test) and
#     fisher.test's conditional odds ratio with its CI
#   Survival (OS, LFS) x (all + 8 groupings): survfit (log CI), median (print.survfit), survival at
#     12/24/36 months, numbers at risk, survdiff; univariable coxph (Efron) per grouping;
#     Schoenfeld's detectable HR; reverse-KM median follow-up
#   Endpoints OS, LFS and EFS (from infusion; no CR at day 30 is an event at day 0)
#   Multivariable coxph per endpoint with the joint Wald test of severity and cox.zph; the
#     publication's model beside it for the synthetic demo (as cartox, which fits it only then)
#   Kinetics: Cmax, Tmax, AUC(0-28) per patient (linear trapezoid, day 0 as 0 copies when unsampled,
#     day 28 interpolated); peak by 8 groupings (rank tests); Tmax and AUC by the kinetics table's 4
#     groupings, Hodges-Lehmann ratio/shift of each level (wilcox.test(conf.int = TRUE)); median and
#     quartiles (type 7) per level and visit window; IL-6 by marrow blasts >= 20%
#   Multiplicity: E-values of every Cox HR (EValue's formulas written out), every reported p-value in
#     cartox's families, keyed by its path in cartox's results, with p.adjust(holm) and p.adjust(BH)
#     within each family
#   Competing risks among patients in CR: cmprsk::cuminc + timepoints (12, 24 months), Gray's
#     test, log(-log) CIs, numbers at risk (all + 8 groupings)
#   Landmark (day 30): OS and LFS by CRS and by ICANS known at the landmark: survfit, survdiff, coxph
#   Centers: counts per center, coxph(... + strata(center)); cohort-flow counts
#   Toxicity as a time-dependent exposure (OS, LFS): tmerge at the CRS and ICANS onsets, the
#     Mantel-Byar test written out (survdiff has no counting-process form; coxph's exact score test is
#     out of reach with hundreds of tied deaths a day), coxph(Surv(tstart, tstop, ev) ~ group) and the
#     study's model with the severity group time-dependent; the study's model at the day-30 and
#     day-90 landmarks
#   Trend across ordered grades: prop.trend.test, coxph on the score
#   Allogeneic HSCT after CAR-T: tmerge tdc(hsct), coxph ~ hsct, ~ crs + hsct, ~ icans + hsct;
#     survival censored at HSCT by CRS and ICANS
#   Every coxph with its convergence tightened (COX_CONTROL), as cartox's Newton-Raphson
# Not done here (cartox does it only for small separated cohorts): Firth's penalized Cox
# (coxphf is not in Debian), used by cartox when a likelihood is monotone.

suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
  library(data.table)
})

DAYS_PER_MONTH <- 30.4375
BLAST_THRESHOLD_PCT <- 20
LANDMARK_MONTHS <- c(12, 24, 36)
CIF_MONTHS <- c(12, 24)
RISK_STEP_MONTHS <- 12
RESPONSE_ASSESSMENT_DAY <- 30
DETECTABLE_POWER <- 0.80
MIN_EXPECTED_COUNT <- 5
Z95 <- qnorm(0.975)
#: coxph's convergence tightened a little: the default eps 1e-9 (relative change of the log-likelihood)
#: leaves p-values ~1e-8 from those at the maximum on the demo. Not more: from eps 1e-12 on, R's
#: step halving follows rounding noise of its Efron log-likelihood where thousands of events are tied
#: (EFS at 10^5 patients: ~10^4 events at day 0) and ends away from the maximum, which cartox and a
#: long-double evaluation of the textbook score agree on (score 4e-9 there, 0.02 at R's end point).
COX_CONTROL <- coxph.control(eps = 1e-11, iter.max = 60)

# Groupings (analysis/registry/groups.py): level keys in display order, labels, reference level.
GROUPINGS <- list(
  crs = list(keys = c("no", "yes"), labels = c("No CRS", "CRS"), ref = "no", title = "CRS"),
  icans = list(keys = c("no", "yes"), labels = c("No ICANS", "ICANS"), ref = "no", title = "ICANS"),
  concurrent = list(keys = c("both", "others"), labels = c("CRS and ICANS", "Others"), ref = "others",
                    title = "Concurrent CRS and ICANS"),
  crs_grade = list(keys = c("none", "grade_1_2", "grade_ge3"),
                   labels = c("No CRS", "CRS grade 1\u20132", "CRS grade \u22653"), ref = "none",
                   title = "CRS grade"),
  icans_grade = list(keys = c("none", "grade_1_2", "grade_ge3"),
                     labels = c("No ICANS", "ICANS grade 1\u20132", "ICANS grade \u22653 or seizure"),
                     ref = "none", title = "ICANS grade"),
  severity = list(keys = c("none", "severe", "other"),
                  labels = c("No CRS or ICANS", "Grade \u22653 CRS or severe ICANS",
                             "Others (grade 1\u20132 CRS and/or ICANS)"), ref = "none",
                  title = "CRS/ICANS severity"),
  steroids = list(keys = c("no", "yes"), labels = c("No steroids", "Steroids"), ref = "no", title = "Steroids"),
  tocilizumab = list(keys = c("no", "yes"), labels = c("No tocilizumab", "Tocilizumab"), ref = "no",
                     title = "Tocilizumab")
)
TABLE1_GROUPINGS <- c("crs", "icans", "concurrent")
TABLE1_VARIABLES <- c(age = "continuous", sex = "categorical", ph_positive = "categorical",
                      il6_peak_pg_ml = "continuous", ferritin_peak_ng_ml = "continuous",
                      prior_lines = "continuous", disease_status = "categorical", n_relapses = "continuous",
                      steroids = "categorical", tocilizumab = "categorical", bm_blasts_pct = "continuous",
                      cart_dose_1e6_per_kg = "continuous")
CATEGORY_ORDER <- list(sex = c("M", "F"), disease_status = c("relapsed", "primary_refractory"))
RESPONSES <- c(cr = "cr_day30", mrd_negative_cr = "mrd_negative_cr")
ENDPOINTS <- c("os", "lfs", "efs")
#: endpoints of the landmark analyses, the toxicity as a time-dependent exposure and the transplant
TD_ENDPOINTS <- c("os", "lfs")
LANDMARK_REPORTED <- c("crs", "icans")
#: the landmark model's days (analysis plan: landmark_day, sensitivity_landmark_day)
LANDMARK_MODEL_DAYS <- c(30, 90)
#: ordered groupings: scores of the trend tests (analysis/registry/groups.py TREND_SCORES)
TREND_SCORES <- list(crs_grade = c(none = 0, grade_1_2 = 1, grade_ge3 = 2),
                     icans_grade = c(none = 0, grade_1_2 = 1, grade_ge3 = 2),
                     severity = c(none = 0, severe = 2, other = 1))
TOXICITY_GROUPINGS <- c("crs", "icans", "concurrent", "crs_grade", "icans_grade", "severity")
#: Table 1 variables measured after infusion (their own family), and the treatments of toxicity,
#: which Table 1 does not test by the toxicity they treat (nor by concurrent CRS and ICANS)
AFTER_INFUSION <- c("il6_peak_pg_ml", "ferritin_peak_ng_ml", "steroids", "tocilizumab")
TREATMENTS <- c("steroids", "tocilizumab")
# Table 2: the study's model of the analysis plan's defaults (analysis/registry/concepts.py
# OPTIONS: exposure severity; covariates age, marrow blasts >= 20%, Ph+, CAR-T dose).
COX_TERMS <- c(age = "age", bm_blasts_ge20 = "bm_blasts_ge20TRUE", ph_positive = "ph_positiveTRUE",
               cart_dose_1e6_per_kg = "cart_dose_1e6_per_kg", severity_ge3 = "grp_severitysevere",
               severity_other = "grp_severityother")
#: the publication's model, a sensitivity analysis of the synthetic demo (analysis.estimators.cox.PUBLICATION_MODEL)
PUBLICATION_TERMS <- c(bm_blasts_ge20 = "bm_blasts_ge20TRUE", steroids = "steroidsTRUE",
                       tocilizumab = "tocilizumabTRUE", severity_ge3 = "grp_severitysevere",
                       severity_other = "grp_severityother")
MODELS <- list(
  baseline = list(rhs = "age + bm_blasts_ge20 + ph_positive + cart_dose_1e6_per_kg + grp_severity", terms = COX_TERMS),
  publication = list(rhs = "bm_blasts_ge20 + steroids + tocilizumab + grp_severity", terms = PUBLICATION_TERMS)
)
CENTER_COUNTS <- c(crs_any = "CRS", crs_severe = "Grade \u22653 CRS", icans_any = "ICANS",
                   icans_severe = "Severe ICANS", cr_day30 = "CR at day 30", mrd_negative_cr = "MRD-negative CR")

# --------------------------------------------------------------------------- timing

.timings <- new.env()
.timings$stages <- list()
timed <- function(stage, expr) {
  t0 <- proc.time()
  value <- force(expr)
  dt <- proc.time() - t0
  .timings$stages[[stage]] <- list(wall = unname(dt[["elapsed"]]),
                                   cpu = unname(dt[["user.self"]] + dt[["sys.self"]]))
  message(sprintf("  R %-12s %7.2f s wall  %7.2f s cpu", stage, dt[["elapsed"]],
                  dt[["user.self"]] + dt[["sys.self"]]))
  value
}

# --------------------------------------------------------------------------- loading

BOOL_TRUE <- c("yes", "true", "1", "y")
BOOL_FALSE <- c("no", "false", "0", "n")

as_bool <- function(x, column, problems) {
  if (is.logical(x)) return(x)
  v <- tolower(trimws(as.character(x)))
  v[v == ""] <- NA
  out <- rep(NA, length(v))
  out[v %in% BOOL_TRUE] <- TRUE
  out[v %in% BOOL_FALSE] <- FALSE
  bad <- !is.na(v) & is.na(out)
  if (any(bad)) problems$add(column, "not a yes/no value", sum(bad))
  out
}

as_date <- function(x) {
  if (inherits(x, "Date")) return(x)
  as.Date(as.character(x), format = "%Y-%m-%d")
}

new_problems <- function() {
  env <- new.env()
  env$rows <- list()
  env$add <- function(column, rule, count) {
    env$rows[[length(env$rows) + 1]] <- sprintf("%s: %s (%d rows)", column, rule, count)
  }
  env
}

check <- function(problems, column, bad, rule) {
  bad[is.na(bad)] <- FALSE
  if (any(bad)) problems$add(column, rule, sum(bad))
}

read_export <- function(path) {
  # skip the synthetic-data marker line (and any comment above the header)
  d <- fread(path, skip = "patient_id", na.strings = c("", "NA"), showProgress = FALSE)
  setattr(d, "synthetic", startsWith(readLines(path, n = 1L), "# SYNTHETIC"))
  d
}

#' Read and validate the cohort (and kinetics) CSVs against the data contract
#' (docs/data-dictionary.md); stops with the list of problems.
load_study <- function(cohort_path, kinetics_path = NULL, cutoff = "2023-03-01") {
  cutoff <- as.Date(cutoff)
  d <- read_export(cohort_path)
  problems <- new_problems()
  required <- c("patient_id", "center", "infusion_date", "age", "sex", "ph_positive", "disease_status",
                "n_relapses", "prior_lines", "bm_blasts_pct", "cart_dose_1e6_per_kg", "crs_grade",
                "icans_grade", "steroids", "tocilizumab", "cr_day30", "last_followup_date")
  optional <- c("il6_peak_pg_ml", "ferritin_peak_ng_ml", "crs_onset_day", "icans_onset_day", "seizure",
                "dex_equiv_cum_mg", "tocilizumab_cum_mg", "mrd_negative", "cr_date", "relapse_date",
                "death_date")
  synthetic <- isTRUE(attr(d, "synthetic"))
  if (!"hsct_date" %in% names(d)) d[, hsct_date := as.Date(NA)]
  absent <- setdiff(c(required, optional), names(d))
  if (length(absent)) stop("missing columns: ", paste(absent, collapse = ", "))
  for (column in required) check(problems, column, is.na(d[[column]]), "required value missing")
  d[, patient_id := as.character(patient_id)]
  check(problems, "patient_id", duplicated(d$patient_id), "duplicate patient_id")
  for (column in c("ph_positive", "steroids", "tocilizumab", "cr_day30", "mrd_negative", "seizure")) {
    set(d, j = column, value = as_bool(d[[column]], column, problems))
  }
  for (column in c("infusion_date", "cr_date", "relapse_date", "death_date", "last_followup_date", "hsct_date")) {
    set(d, j = column, value = as_date(d[[column]]))
  }
  d[, sex := toupper(substr(trimws(sex), 1, 1))]
  check(problems, "sex", !d$sex %in% c("M", "F"), "not M/F")
  check(problems, "disease_status", !d$disease_status %in% c("relapsed", "primary_refractory"),
        "not relapsed/primary_refractory")
  check(problems, "age", d$age < 0 | d$age > 120, "outside 0-120")
  check(problems, "bm_blasts_pct", d$bm_blasts_pct < 0 | d$bm_blasts_pct > 100, "outside 0-100")
  check(problems, "cart_dose_1e6_per_kg", d$cart_dose_1e6_per_kg <= 0, "not > 0")
  for (column in c("n_relapses", "prior_lines")) check(problems, column, d[[column]] < 0, "negative")
  for (column in c("il6_peak_pg_ml", "ferritin_peak_ng_ml", "dex_equiv_cum_mg", "tocilizumab_cum_mg")) {
    check(problems, column, d[[column]] < 0, "negative")
  }
  for (tox in c("crs", "icans")) {
    grade <- d[[paste0(tox, "_grade")]]
    onset <- d[[paste0(tox, "_onset_day")]]
    check(problems, paste0(tox, "_grade"), grade < 0 | grade > 5 | grade != round(grade), "not an integer 0-5")
    check(problems, paste0(tox, "_onset_day"), grade > 0 & is.na(onset), "required when grade > 0")
    check(problems, paste0(tox, "_onset_day"), grade == 0 & !is.na(onset), "must be empty when grade is 0")
    check(problems, paste0(tox, "_onset_day"), onset < 0, "negative")
  }
  check(problems, "mrd_negative", d$cr_day30 & is.na(d$mrd_negative), "required when cr_day30")
  check(problems, "mrd_negative", !d$cr_day30 & d$mrd_negative %in% TRUE, "true without CR")
  check(problems, "cr_date", d$cr_day30 & is.na(d$cr_date), "required when cr_day30")
  check(problems, "cr_date", d$cr_date < d$infusion_date, "before infusion_date")
  check(problems, "relapse_date", !is.na(d$relapse_date) & !d$cr_day30, "relapse without CR")
  check(problems, "relapse_date", d$relapse_date <= d$cr_date, "not after cr_date")
  check(problems, "death_date", d$death_date < d$infusion_date, "before infusion_date")
  for (column in c("infusion_date", "cr_date", "relapse_date", "death_date")) {
    check(problems, "last_followup_date", d$last_followup_date < d[[column]], paste("before", column))
  }
  check(problems, "last_followup_date", !is.na(d$death_date) & d$last_followup_date != d$death_date,
        "differs from death_date")
  for (column in c("infusion_date", "cr_date", "relapse_date", "death_date", "last_followup_date")) {
    check(problems, column, d[[column]] > cutoff, "after the cut-off")
  }
  kinetics <- NULL
  if (!is.null(kinetics_path)) {
    kinetics <- read_export(kinetics_path)
    kinetics[, patient_id := as.character(patient_id)]
    for (column in c("patient_id", "day", "car_copies_per_ug")) {
      check(problems, paste0("kinetics.", column), is.na(kinetics[[column]]), "required value missing")
    }
    check(problems, "kinetics.patient_id", !kinetics$patient_id %in% d$patient_id, "not in the cohort")
    check(problems, "kinetics.day", kinetics$day < 0, "negative")
    check(problems, "kinetics.car_copies_per_ug", kinetics$car_copies_per_ug < 0, "negative")
    check(problems, "kinetics", duplicated(kinetics, by = c("patient_id", "day")), "duplicate (patient_id, day)")
  }
  if (length(problems$rows)) stop("invalid input:\n", paste(problems$rows, collapse = "\n"))
  list(cohort = d, kinetics = kinetics, cutoff = cutoff, synthetic = synthetic)
}

# --------------------------------------------------------------------------- derived columns

grp_factor <- function(values, name) factor(values, levels = GROUPINGS[[name]]$keys)

#' Endpoints and grouping columns (analysis.registry.groups.prepare_cohort); re-run after masking
#' toxicity at a landmark.
prepare_cohort <- function(d) {
  d <- copy(d)
  seizure <- !is.na(d$seizure) & d$seizure
  d[, crs_any := crs_grade > 0]
  d[, crs_severe := crs_grade >= 3]
  d[, icans_severe := icans_grade >= 3 | seizure]
  d[, icans_any := icans_grade > 0 | icans_severe]
  d[, concurrent := crs_any & icans_any]
  d[, mrd_negative_cr := cr_day30 & !is.na(mrd_negative) & mrd_negative]
  d[, bm_blasts_ge20 := bm_blasts_pct >= BLAST_THRESHOLD_PCT]
  died <- !is.na(d$death_date)
  os_end <- d$last_followup_date
  os_end[died] <- d$death_date[died]
  d[, os_months := as.numeric(os_end - infusion_date) / DAYS_PER_MONTH]
  d[, os_event := died]
  first <- pmin(d$relapse_date, d$death_date, na.rm = TRUE)
  lfs_event <- !is.na(first)
  lfs_end <- d$last_followup_date
  lfs_end[lfs_event] <- first[lfs_event]
  d[, lfs_months := ifelse(cr_day30, as.numeric(lfs_end - cr_date) / DAYS_PER_MONTH, NA_real_)]
  d[, lfs_event := ifelse(cr_day30, lfs_event, NA)]
  # EFS from infusion: no CR at day 30 is an event at day 0, otherwise relapse or death
  d[, efs_months := ifelse(cr_day30, as.numeric(lfs_end - infusion_date), 0) / DAYS_PER_MONTH]
  d[, efs_event := !is.na(first) | !cr_day30]
  yes_no <- function(flag) ifelse(flag, "yes", "no")
  band <- function(grade, severe) ifelse(severe, "grade_ge3", ifelse(grade == 0, "none", "grade_1_2"))
  d[, grp_crs := grp_factor(yes_no(crs_any), "crs")]
  d[, grp_icans := grp_factor(yes_no(icans_any), "icans")]
  d[, grp_concurrent := grp_factor(ifelse(concurrent, "both", "others"), "concurrent")]
  d[, grp_crs_grade := grp_factor(band(crs_grade, crs_severe), "crs_grade")]
  d[, grp_icans_grade := grp_factor(band(icans_grade, icans_severe), "icans_grade")]
  d[, grp_severity := grp_factor(ifelse(!(crs_any | icans_any), "none",
                                        ifelse(crs_severe | icans_severe, "severe", "other")), "severity")]
  d[, grp_steroids := grp_factor(yes_no(steroids), "steroids")]
  d[, grp_tocilizumab := grp_factor(yes_no(tocilizumab), "tocilizumab")]
  d
}

gcol <- function(name) paste0("grp_", name)

# --------------------------------------------------------------------------- tests

rank_test <- function(samples) {
  samples <- Filter(function(s) length(s) > 0, samples)
  if (length(samples) < 2) return(list(p = NA_real_, test = NA, reason = "fewer than two groups with values"))
  pooled <- unlist(samples)
  if (all(pooled == pooled[1])) return(list(p = NA_real_, test = NA, reason = "all values are equal"))
  if (length(samples) == 2) {
    res <- suppressWarnings(wilcox.test(samples[[1]], samples[[2]]))
    list(p = res$p.value, statistic = unname(res$statistic), test = "mann_whitney")
  } else {
    res <- kruskal.test(samples)
    list(p = res$p.value, statistic = unname(res$statistic), test = "kruskal_wallis")
  }
}

#' gtsummary's rule: chi-square without correction, Fisher when an expected count is < 5.
table_test <- function(counts) {
  counts <- counts[rowSums(counts) > 0, colSums(counts) > 0, drop = FALSE]
  if (nrow(counts) < 2) return(list(p = NA_real_, test = NA, reason = "fewer than two groups"))
  if (ncol(counts) < 2) return(list(p = NA_real_, test = NA, reason = "a single category"))
  expected <- outer(rowSums(counts), colSums(counts)) / sum(counts)
  if (min(expected) >= MIN_EXPECTED_COUNT) {
    res <- chisq.test(counts, correct = FALSE)
    return(list(p = res$p.value, statistic = unname(res$statistic), test = "chi_square"))
  }
  res <- tryCatch(fisher.test(counts, workspace = 2e7), error = function(e) NULL)
  if (is.null(res)) return(list(p = NA_real_, test = "fisher_exact", reason = "table too large for fisher.test"))
  list(p = res$p.value, test = "fisher_exact")
}

compare_continuous <- function(d, variable, grouping) {
  g <- d[[gcol(grouping)]]
  x <- as.numeric(d[[variable]])
  levels <- list()
  samples <- list()
  for (key in GROUPINGS[[grouping]]$keys) {
    v <- x[g == key & !is.na(g)]
    v <- v[!is.na(v)]
    samples[[key]] <- v
    levels[[key]] <- if (length(v)) list(n = length(v), median = median(v), min = min(v), max = max(v))
                     else list(n = 0L, median = NA, min = NA, max = NA)
  }
  c(rank_test(unname(samples)), list(levels = levels))
}

compare_categorical <- function(d, variable, grouping) {
  values <- d[[variable]]
  order <- if (is.logical(values)) c(TRUE, FALSE) else CATEGORY_ORDER[[variable]]
  order <- c(order, sort(setdiff(unique(values[!is.na(values)]), order)))
  counts <- table(factor(d[[gcol(grouping)]], levels = GROUPINGS[[grouping]]$keys),
                  factor(values, levels = order))
  counts <- matrix(counts, nrow = nrow(counts), dimnames = list(GROUPINGS[[grouping]]$keys,
    if (is.logical(values)) ifelse(order, "yes", "no") else order))
  levels <- lapply(rownames(counts), function(key) {
    n <- sum(counts[key, ])
    list(n = n, counts = as.list(counts[key, ]), percent = as.list(if (n) 100 * counts[key, ] / n else NA))
  })
  names(levels) <- rownames(counts)
  c(table_test(counts), list(levels = levels))
}

#' The test of a 2x2 response table (rows: the two groups) whose inversion is the odds ratio's CI
#' cartox prints beside it (analysis/registry/concepts.py TWO_GROUP_RESPONSE_TESTS): with a zero
#' cell, Firth's penalized likelihood-ratio test (logistf's default p; logistf is not in Debian, so
#' the penalized likelihood of the two-group logistic model is written out on the counts); otherwise
#' Fisher's central p, twice the smaller one-sided p (Fay 2010), whose inversion is fisher.test's CI.
two_group_test <- function(counts) {
  if (any(rowSums(counts) == 0) || any(colSums(counts) == 0)) return(table_test(counts))
  if (any(counts == 0)) {
    k <- counts[, 1]; n <- rowSums(counts); x <- c(0, 1)
    penalized <- function(b0, b1) {
      p <- plogis(b0 + b1 * x); w <- n * p * (1 - p)
      info <- matrix(c(sum(w), sum(w * x), sum(w * x), sum(w * x^2)), 2)
      sum(k * log(p) + (n - k) * log(1 - p)) + 0.5 * log(det(info))
    }
    # Firth's estimate of a 2x2 table: each group's log odds with 1/2 added to its cells
    a <- k + 0.5; b <- n - k + 0.5
    top <- penalized(log(a[1] / b[1]), log(a[2] / b[2]) - log(a[1] / b[1]))
    null <- optimize(function(b0) penalized(b0, 0), c(-30, 30), maximum = TRUE, tol = 1e-13)$objective
    chisq <- max(0, 2 * (top - null))
    return(list(p = pchisq(chisq, 1, lower.tail = FALSE), statistic = chisq, test = "firth_lr"))
  }
  central <- min(1, 2 * min(fisher.test(counts, alternative = "less")$p.value,
                            fisher.test(counts, alternative = "greater")$p.value))
  list(p = central, test = "fisher_central")
}

compare_response <- function(d, response, grouping) {
  flag <- d[[RESPONSES[[response]]]] %in% TRUE
  g <- d[[gcol(grouping)]]
  keys <- GROUPINGS[[grouping]]$keys
  levels <- list()
  counts <- matrix(0L, nrow = length(keys), ncol = 2)
  for (i in seq_along(keys)) {
    in_level <- g == keys[i] & !is.na(g)
    n <- sum(in_level)
    events <- sum(flag[in_level])
    ci <- if (n) binom.test(events, n)$conf.int else c(NA, NA)
    levels[[keys[i]]] <- list(n = n, events = events, rate = if (n) events / n else NA,
                              ci_low = ci[1], ci_high = ci[2])
    counts[i, ] <- c(events, n - events)
  }
  test <- if (length(keys) == 2) two_group_test(counts) else table_test(counts)
  c(test, list(levels = levels))
}

#' Newcombe's hybrid-score difference (method 10) and fisher.test's odds ratio, exposed vs reference.
response_effect <- function(d, response, grouping) {
  spec <- GROUPINGS[[grouping]]
  level <- setdiff(spec$keys, spec$ref)
  flag <- d[[RESPONSES[[response]]]] %in% TRUE
  g <- d[[gcol(grouping)]]
  k1 <- sum(flag[g %in% level]); n1 <- sum(g %in% level)
  k2 <- sum(flag[g %in% spec$ref]); n2 <- sum(g %in% spec$ref)
  wilson <- function(k, n) suppressWarnings(prop.test(k, n, correct = FALSE)$conf.int)
  out <- list(level = level, reference = spec$ref)
  if (n1 > 0 && n2 > 0) {
    p1 <- k1 / n1; p2 <- k2 / n2
    w1 <- wilson(k1, n1); w2 <- wilson(k2, n2)
    out$difference <- p1 - p2
    out$difference_ci_low <- max(-1, p1 - p2 - sqrt((p1 - w1[1])^2 + (w2[2] - p2)^2))
    out$difference_ci_high <- min(1, p1 - p2 + sqrt((w1[2] - p1)^2 + (p2 - w2[1])^2))
  }
  tab <- matrix(c(k1, k2, n1 - k1, n2 - k2), nrow = 2)
  if (all(rowSums(tab) > 0) && all(colSums(tab) > 0)) {
    ft <- fisher.test(tab)
    finite <- function(x) if (is.finite(x)) unname(x) else NA
    out$odds_ratio <- finite(ft$estimate)
    out$odds_ratio_ci_low <- finite(ft$conf.int[1])
    out$odds_ratio_ci_high <- finite(ft$conf.int[2])
  }
  out
}

# --------------------------------------------------------------------------- survival

endpoint_data <- function(d, endpoint) {
  months <- d[[paste0(endpoint, "_months")]]
  keep <- !is.na(months)
  data.frame(months = months[keep], event = as.logical(d[[paste0(endpoint, "_event")]][keep]),
             d[keep, grep("^grp_", names(d)), with = FALSE])
}

km_entry <- function(fit, n, events) {
  table <- summary(fit)$table
  out <- list(n = n, events = events, median_months = unname(table["median"]),
              median_ci_low = unname(table["0.95LCL"]), median_ci_high = unname(table["0.95UCL"]))
  within <- LANDMARK_MONTHS[LANDMARK_MONTHS <= max(fit$time)]  # later: NA (summary stops on none at all)
  s <- if (length(within)) summary(fit, times = within) else list(time = numeric(0))
  for (m in LANDMARK_MONTHS) {
    i <- match(m, s$time)
    stem <- paste0("surv_", m, "m")
    out[[stem]] <- if (is.na(i)) NA else s$surv[i]
    out[[paste0(stem, "_ci_low")]] <- if (is.na(i)) NA else s$lower[i]
    out[[paste0(stem, "_ci_high")]] <- if (is.na(i)) NA else s$upper[i]
  }
  out
}

#' KM per level (one survfit per level, as cartox), numbers at risk, survdiff.
compare_survival <- function(data, grouping = NULL) {
  max_follow <- max(data$months)
  risk_times <- seq(0, max_follow + 1e-9, by = RISK_STEP_MONTHS)
  at_risk_at <- function(m) vapply(risk_times, function(t) sum(m >= t), integer(1))
  if (is.null(grouping)) {
    fit <- survfit(Surv(months, event) ~ 1, data = data)
    return(km_entry(fit, nrow(data), sum(data$event)))
  }
  g <- data[[gcol(grouping)]]
  out <- list(levels = list(), at_risk = list(), risk_times = risk_times)
  for (key in GROUPINGS[[grouping]]$keys) {
    rows <- data[g %in% key, c("months", "event")]
    out$at_risk[[key]] <- at_risk_at(rows$months)
    out$levels[[key]] <- if (nrow(rows)) km_entry(survfit(Surv(months, event) ~ 1, data = rows), nrow(rows),
                                                  sum(rows$event)) else list(n = 0L, events = 0L)
  }
  present <- droplevels(g)
  if (nlevels(present) >= 2 && any(data$event)) {
    sd <- survdiff(Surv(data$months, data$event) ~ present)
    out$logrank_chisq <- sd$chisq
    out$df <- length(sd$n) - 1
    out$logrank_p <- pchisq(sd$chisq, out$df, lower.tail = FALSE)
  }
  out
}

#' coxph(Surv ~ group), Efron ties, each level against the reference level.
univariable_cox <- function(data, grouping, reference = GROUPINGS[[grouping]]$ref) {
  g <- droplevels(data[[gcol(grouping)]])
  out <- list(reference = reference, n = nrow(data), events = sum(data$event), levels = list())
  if (!reference %in% levels(g) || nlevels(g) < 2 || !any(data$event)) return(out)
  g <- relevel(g, ref = reference)
  fit <- suppressWarnings(coxph(control = COX_CONTROL, Surv(data$months, data$event) ~ g))
  s <- summary(fit)$coefficients
  for (key in setdiff(levels(g), reference)) {
    row <- paste0("g", key)
    b <- s[row, "coef"]; se <- s[row, "se(coef)"]
    if (!is.finite(b) || abs(b) > 10) next  # infinite estimate (cartox: not estimable)
    out$levels[[key]] <- list(hr = exp(b), ci_low = exp(b - Z95 * se), ci_high = exp(b + Z95 * se),
                              p = s[row, "Pr(>|z|)"], coef = b, se = se)
  }
  out
}

detectable_hr <- function(data, grouping, alpha) {
  g <- data[[gcol(grouping)]]
  events <- sum(data$event)
  p <- mean(g == GROUPINGS[[grouping]]$ref)
  if (events == 0 || p <= 0 || p >= 1) return(list(events = events, alpha = alpha, power = DETECTABLE_POWER))
  z <- qnorm(1 - alpha / 2) + qnorm(DETECTABLE_POWER)
  log_hr <- z / sqrt(events * p * (1 - p))
  list(events = events, alpha = alpha, power = DETECTABLE_POWER, proportion = p, hr_below = exp(-log_hr),
       hr_above = exp(log_hr))
}

#' Table 2: coxph(Surv ~ age + bm_blasts_ge20 + ph_positive + cart_dose_1e6_per_kg + grp_severity)
#' (the analysis plan's default model; `model = "publication"`: the publication's), joint Wald test
#' of the two severity terms, cox.zph (not with `zph = FALSE`); stratified by center when `strata`.
#' The functional form of a continuous covariate of the baseline model (cartox's
#' functional_forms.<endpoint>.<column>, analysis/estimators/functional.py): marrow blasts
#' continuous instead of >= 20% (HR per 10 points), age and dose as in the model (per unit), and
#' the Wald test of the nonlinear term of a 3-knot restricted cubic spline of the covariate added
#' to that model (knots at the 10th, 50th and 90th percentiles; Harrell's basis,
#' Hmisc::rcspline.eval(norm = 2), written out).
functional_form <- function(d, endpoint, column) {
  data <- d[!is.na(d[[paste0(endpoint, "_months")]]), ]
  data <- data.frame(months = data[[paste0(endpoint, "_months")]], event = as.logical(data[[paste0(endpoint, "_event")]]),
                     age = data$age, bm_blasts_pct = data$bm_blasts_pct, ph_positive = as.logical(data$ph_positive),
                     cart_dose_1e6_per_kg = data$cart_dose_1e6_per_kg, grp_severity = data$grp_severity)
  data <- data[complete.cases(data), ]
  data$bm_blasts_ge20 <- data$bm_blasts_pct >= 20
  blasts <- if (column == "bm_blasts_pct") "bm_blasts_pct" else "bm_blasts_ge20"
  rhs <- paste("age +", blasts, "+ ph_positive + cart_dose_1e6_per_kg + grp_severity")
  per <- if (column == "bm_blasts_pct") 10 else 1
  fit <- coxph(control = COX_CONTROL, as.formula(paste("Surv(months, event) ~", rhs)), data = data, ties = "efron")
  b <- coef(fit)[[column]]; se <- sqrt(vcov(fit)[column, column])
  x <- data[[column]]
  k <- quantile(x, c(0.1, 0.5, 0.9), names = FALSE)
  cube <- function(v) pmax(v, 0)^3
  data$x1 <- (cube(x - k[1]) - cube(x - k[2]) * (k[3] - k[1]) / (k[3] - k[2]) +
                cube(x - k[3]) * (k[2] - k[1]) / (k[3] - k[2])) / (k[3] - k[1])^2
  spline <- coxph(control = COX_CONTROL, as.formula(paste("Surv(months, event) ~ x1 +", rhs)), data = data, ties = "efron")
  chisq <- coef(spline)[["x1"]]^2 / vcov(spline)["x1", "x1"]
  list(n = fit$n, events = fit$nevent, per = per, hr = exp(per * b), ci_low = exp(per * (b - qnorm(0.975) * se)),
       ci_high = exp(per * (b + qnorm(0.975) * se)), knots = k, nonlinearity_chisq = chisq,
       nonlinearity_p = pchisq(chisq, 1, lower.tail = FALSE))
}

fit_cox <- function(d, endpoint, strata = FALSE, model = "baseline", zph = TRUE) {
  data <- d[!is.na(d[[paste0(endpoint, "_months")]]), ]
  data <- data.frame(months = data[[paste0(endpoint, "_months")]],
                     event = as.logical(data[[paste0(endpoint, "_event")]]),
                     age = data$age, bm_blasts_ge20 = data$bm_blasts_ge20, ph_positive = as.logical(data$ph_positive),
                     cart_dose_1e6_per_kg = data$cart_dose_1e6_per_kg, grp_severity = data$grp_severity,
                     steroids = as.logical(data$steroids), tocilizumab = as.logical(data$tocilizumab),
                     center = data$center)
  spec <- MODELS[[model]]
  formula <- as.formula(paste("Surv(months, event) ~", spec$rhs, if (strata) "+ strata(center)" else ""))
  fit <- suppressWarnings(coxph(control = COX_CONTROL, formula, data = data, ties = "efron"))
  out <- cox_summary(fit, spec$terms)
  if (!strata && zph) {
    zph <- tryCatch(cox.zph(fit), error = function(e) NULL)
    if (!is.null(zph)) {
      out$ph_test_global_p <- zph$table["GLOBAL", "p"]
      out$ph_tests <- lapply(split(zph$table, rownames(zph$table)), function(r)
        list(chisq = r[1], df = r[2], p = r[3]))
      names(out$ph_tests)[names(out$ph_tests) == "grp_severity"] <- "severity"
      out$ph_term_p <- zph$table[rownames(zph$table) != "GLOBAL", "p"]  # in the model's term order
    }
  }
  out
}

#' The proportional-hazards sensitivity model (cartox's ph_sensitivity.<endpoint>, review 29): the
#' baseline model's covariates whose cox.zph test is below alpha relaxed, a yes/no one as a stratum,
#' a numeric one with tt(x) = x * log(t); NULL when none is flagged.
ph_sensitivity <- function(d, endpoint, alpha) {
  data <- d[!is.na(d[[paste0(endpoint, "_months")]]), ]
  data <- data.frame(months = data[[paste0(endpoint, "_months")]], event = as.logical(data[[paste0(endpoint, "_event")]]),
                     age = data$age, bm_blasts_ge20 = data$bm_blasts_ge20, ph_positive = as.logical(data$ph_positive),
                     cart_dose_1e6_per_kg = data$cart_dose_1e6_per_kg, grp_severity = data$grp_severity)
  covariates <- c("age", "bm_blasts_ge20", "ph_positive", "cart_dose_1e6_per_kg")
  fit <- coxph(control = COX_CONTROL, as.formula(paste("Surv(months, event) ~", MODELS$baseline$rhs)), data = data,
               ties = "efron")
  z <- cox.zph(fit)$table
  flagged <- intersect(rownames(z)[z[, "p"] < alpha], covariates)
  if (!length(flagged)) return(NULL)
  binary <- Filter(function(v) all(na.omit(data[[v]]) %in% c(0, 1)), flagged)
  numeric <- setdiff(flagged, binary)
  rhs <- c(setdiff(covariates, binary), sprintf("tt(%s)", numeric), "grp_severity",
           if (length(binary)) sprintf("strata(%s)", paste(binary, collapse = ", ")))
  relaxed <- coxph(control = COX_CONTROL, as.formula(paste("Surv(months, event) ~", paste(rhs, collapse = " + "))),
                   data = data, ties = "efron", tt = function(x, t, ...) x * log(t))
  cox_summary(relaxed, COX_TERMS)
}

#' Terms (HR, Wald CI and p) and the joint Wald test of the severity terms of a coxph fit.
cox_summary <- function(fit, terms, n = fit$n) {
  s <- summary(fit)$coefficients
  out <- list(n = n, events = fit$nevent, terms = list())
  for (key in names(terms)) {
    row <- terms[[key]]
    if (!row %in% rownames(s) || is.na(s[row, "coef"])) next
    b <- s[row, "coef"]; se <- s[row, "se(coef)"]
    out$terms[[key]] <- list(hr = exp(b), ci_low = exp(b - Z95 * se), ci_high = exp(b + Z95 * se),
                             p = s[row, "Pr(>|z|)"], coef = b, se = se)
  }
  idx <- c("grp_severitysevere", "grp_severityother")
  if (all(idx %in% names(coef(fit))) && !anyNA(coef(fit)[idx])) {
    b <- coef(fit)[idx]
    out$severity_global_chisq <- drop(t(b) %*% solve(vcov(fit)[idx, idx]) %*% b)
    out$severity_global_p <- pchisq(out$severity_global_chisq, 2, lower.tail = FALSE)
  }
  out
}

median_followup <- function(d) {
  fit <- survfit(Surv(d$os_months, !d$os_event) ~ 1)
  t <- summary(fit)$table
  list(median_months = unname(t["median"]), ci_low = unname(t["0.95LCL"]), ci_high = unname(t["0.95UCL"]))
}

# --------------------------------------------------------------------------- kinetics

#' Cmax, Tmax (NA without detectable copies) and AUC(0-28): linear trapezoid between the observed days,
#' day 0 counted as 0 copies when not sampled, day 28 interpolated between the samples around it when
#' not sampled, NA without a sample in days 1-28 or on/after day 28 (no extrapolation).
patient_kinetics <- function(kinetics) {
  k <- kinetics[!is.na(car_copies_per_ug) & !is.na(day), .(patient_id, day = as.numeric(day),
                                                           c = as.numeric(car_copies_per_ug))]
  setkey(k, patient_id, day)
  trap <- function(x, y) sum(diff(x) * (head(y, -1) + tail(y, -1)) / 2)
  auc028 <- function(day, c) {
    if (!any(day > 0 & day <= 28) || max(day) < 28) return(NA_real_)
    if (min(day) > 0) { day <- c(0, day); c <- c(0, c) }
    keep <- day < 28
    trap(c(day[keep], 28), c(c[keep], approx(day, c, xout = 28)$y))
  }
  early <- function(day) any(day > 0 & day <= 28)
  k[, .(peak_copies = max(c), peak_day = if (max(c) > 0) day[which.max(c)] else NA_real_,
        n_samples = .N, auc_0_28 = auc028(day, c),
        auc_day0_imputed = early(day) && max(day) >= 28 && min(day) > 0,
        auc_day28_interpolated = early(day) && max(day) > 28 && !any(day == 28),
        auc_missing = if (!early(day)) 1L else if (max(day) < 28) 2L else 0L), by = patient_id]
}

#' Hodges-Lehmann estimate and CI of `x` against `y` (wilcox.test(conf.int = TRUE); ratios: on log values).
location_effect <- function(x, y, ratio) {
  x <- x[!is.na(x)]; y <- y[!is.na(y)]
  if (!length(x) || !length(y) || (ratio && (any(x <= 0) || any(y <= 0)))) return(list())
  if (ratio) { x <- log(x); y <- log(y) }
  if (all(c(x, y) == x[1])) return(list())
  w <- suppressWarnings(wilcox.test(x, y, conf.int = TRUE))
  v <- c(unname(w$estimate), w$conf.int)
  if (ratio) v <- exp(v)
  list(estimate = v[1], ci_low = v[2], ci_high = v[3], n = length(x), n_reference = length(y))
}

KINETICS_TABLE_GROUPINGS <- c("crs", "icans", "concurrent", "severity")
KINETIC_METRICS <- c(cmax = "peak_copies", tmax = "peak_day", auc = "auc_0_28")
VISIT_WINDOWS <- data.frame(day = c(7, 14, 21, 28, 60, 90, 180), within = c(3, 3, 3, 3, 14, 14, 30))

#' One sample per patient and visit window: the one closest to the nominal day (the earlier on a tie).
visit_samples <- function(samples) {
  j <- findInterval(samples$day, VISIT_WINDOWS$day - VISIT_WINDOWS$within)
  inside <- j > 0 & samples$day <= (VISIT_WINDOWS$day + VISIT_WINDOWS$within)[pmax(j, 1)]
  v <- samples[inside]
  v[, visit := VISIT_WINDOWS$day[j[inside]]]
  v[, distance := abs(day - visit)]
  setorder(v, patient_id, visit, distance, day)
  v[!duplicated(v, by = c("patient_id", "visit"))]
}

kinetics_analysis <- function(d, kinetics) {
  if (is.null(kinetics)) return(list(peak = list(), profiles = list(), patients = NULL, metrics = list()))
  groups <- d[, c("patient_id", grep("^grp_", names(d), value = TRUE)), with = FALSE]
  per <- merge(patient_kinetics(kinetics), groups, by = "patient_id")
  samples <- merge(kinetics[, .(patient_id, day, car_copies_per_ug = as.numeric(car_copies_per_ug))], groups,
                   by = "patient_id")
  visits <- visit_samples(samples)
  peak <- list()
  profiles <- list()
  for (grouping in names(GROUPINGS)) {
    peak[[grouping]] <- compare_continuous(per, "peak_copies", grouping)
    col <- gcol(grouping)
    profiles[[grouping]] <- visits[, .(within = VISIT_WINDOWS$within[match(visit[1], VISIT_WINDOWS$day)], n = .N,
                                       median = as.numeric(median(car_copies_per_ug)),
                                       q1 = quantile(car_copies_per_ug, 0.25, names = FALSE),
                                       q3 = quantile(car_copies_per_ug, 0.75, names = FALSE)),
                                   keyby = c(col, "visit")]
    setnames(profiles[[grouping]], c(col, "visit"), c("level", "day"))
    setcolorder(profiles[[grouping]], c("level", "day", "within"))
  }
  # the first earlier grouping dividing the patients with kinetics into the same groups (the same test)
  same_split <- list()
  for (i in seq_along(GROUPINGS)) for (other in names(GROUPINGS)[seq_len(i - 1)]) {
    tab <- table(as.character(per[[gcol(names(GROUPINGS)[i])]]), as.character(per[[gcol(other)]])) > 0
    if (nrow(tab) > 0 && all(rowSums(tab) == 1) && all(colSums(tab) == 1)) {
      same_split[[names(GROUPINGS)[i]]] <- other; break
    }
  }
  metrics <- list()
  for (metric in names(KINETIC_METRICS)) for (grouping in KINETICS_TABLE_GROUPINGS) {
    column <- KINETIC_METRICS[[metric]]
    entry <- if (metric == "cmax") peak[[grouping]] else compare_continuous(per, column, grouping)
    spec <- GROUPINGS[[grouping]]
    g <- per[[gcol(grouping)]]
    entry$effects <- list()
    for (level in setdiff(spec$keys, spec$ref)) {
      entry$effects[[level]] <- location_effect(per[[column]][g %in% level], per[[column]][g %in% spec$ref],
                                                ratio = metric != "tmax")
    }
    metrics[[metric]][[grouping]] <- entry
  }
  auc <- list(n_patients = nrow(per), n_auc = sum(!is.na(per$auc_0_28)), n_day0_imputed = sum(per$auc_day0_imputed),
              n_day28_interpolated = sum(per$auc_day28_interpolated), n_no_early_sample = sum(per$auc_missing == 1),
              n_no_late_sample = sum(per$auc_missing == 2))
  list(peak = peak, profiles = profiles, patients = per, metrics = metrics, auc = auc, same_split = same_split)
}

# --------------------------------------------------------------------------- multiplicity and E-values

#' E-value of a hazard ratio and of its CI limit closest to 1: EValue's evalues.HR written out
#' (VanderWeele & Ding 2017; EValue is not in Debian). rare: outcome in < 15% of the patients.
e_values <- function(hr, lo, hi, rare) {
  if (is.null(hr) || is.na(hr)) return(list())
  f <- if (rare) identity else function(h) (1 - 0.5^sqrt(h)) / (1 - 0.5^sqrt(1 / h))
  thr <- function(rr) { if (rr < 1) rr <- 1 / rr; rr + sqrt(rr * (rr - 1)) }
  lim <- if (hr > 1) lo else hi
  ci <- if (hr == 1 || (hr > 1 && lim <= 1) || (hr < 1 && lim >= 1)) 1 else thr(f(lim))
  list(e_value = thr(f(hr)), e_value_ci = ci)
}

with_e_values <- function(model, levels_key) {
  rare <- model$events / model$n < 0.15
  for (key in names(model[[levels_key]])) {
    t <- model[[levels_key]][[key]]
    model[[levels_key]][[key]] <- c(t, e_values(t$hr, t$ci_low, t$ci_high, rare))
  }
  model$e_value_rare_outcome <- rare
  model
}

#' Every p-value of the report in cartox's families (analysis/report/pvalues.py), each row keyed by
#' the path of the p-value in cartox's results (its `path`: "survival/os/crs/logrank_p"), with
#' p.adjust(holm) and p.adjust(BH) within each family.
pvalue_table <- function(R, alpha, same_split = list()) {
  fam <- character(0); path <- character(0); p <- numeric(0); twin <- character(0)
  add <- function(family, key, value, same_as = NA_character_)
    if (!is.null(value) && length(value) == 1 && !is.na(value)) {
      fam <<- c(fam, family); path <<- c(path, key); p <<- c(p, value); twin <<- c(twin, same_as)
    }
  # a kinetics comparison by a grouping dividing the patients with kinetics as an earlier one does
  # is that grouping's test; the Mantel-Byar test with no event while a toxicity was still to come
  # (and no patient left out for a follow-up of 0) is the log-rank test from infusion
  kin_twin <- function(template, g) if (is.null(same_split[[g]])) NA_character_ else sprintf(template, same_split[[g]])
  by_tox <- function(g, yes, no) if (g %in% TOXICITY_GROUPINGS) yes else no
  efficacy <- function(g) by_tox(g, "efficacy_by_toxicity", "efficacy_by_treatment")
  for (r in names(RESPONSES)) for (g in names(GROUPINGS))
    add(efficacy(g), sprintf("response/%s/%s/result/p", r, g), R$response[[r]][[g]]$p)
  for (e in ENDPOINTS) for (g in names(GROUPINGS))
    add(efficacy(g), sprintf("survival/%s/%s/logrank_p", e, g), R$survival[[e]][[g]]$logrank_p)
  for (v in names(TABLE1_VARIABLES)) for (g in TABLE1_GROUPINGS) {
    if (v %in% TREATMENTS) next  # a treatment of toxicity is not tested by toxicity
    add(if (v %in% AFTER_INFUSION) "course" else "baseline", sprintf("table1/%s/%s/result/p", v, g),
        R$table1[[v]][[g]]$p)
  }
  for (g in names(GROUPINGS))
    add(by_tox(g, "kinetics", "efficacy_by_treatment"), sprintf("kinetics_peak/%s/result/p", g), R$kinetics$peak[[g]]$p,
        kin_twin("kinetics_peak/%s/result/p", g))
  for (m in setdiff(names(R$kinetics$metrics), "cmax")) for (g in names(R$kinetics$metrics[[m]]))
    add("kinetics", sprintf("kinetics_metrics/%s/%s/comparison/result/p", m, g), R$kinetics$metrics[[m]][[g]]$p,
        kin_twin(paste0("kinetics_metrics/", m, "/%s/comparison/result/p"), g))
  models <- list(cox = list(R$cox, "multivariable"), cox_publication = list(R$cox_publication, "publication_model"))
  for (name in names(models)) for (e in names(models[[name]][[1]])) {
    m <- models[[name]][[1]][[e]]; family <- models[[name]][[2]]
    for (t in names(m$terms)) add(family, sprintf("%s/%s/terms/%s/p", name, e, t), m$terms[[t]]$p)
    add(family, sprintf("%s/%s/severity_global_p", name, e), m$severity_global_p)
    if (name == "cox") for (i in seq_along(m$ph_term_p))  # the per-term tests of Table 2's model
      add("model_checks", sprintf("cox/%s/ph_tests/%d/p", e, i - 1), m$ph_term_p[[i]])
    add("model_checks", sprintf("%s/%s/ph_test_global_p", name, e), m$ph_test_global_p)
  }
  for (v in names(R$kinetics_selection))
    add("kinetics_selection", sprintf("kinetics_selection/%s/result/p", v), R$kinetics_selection[[v]]$p)
  for (e in names(R$functional_forms)) for (column in names(R$functional_forms[[e]]))
    add("model_checks", sprintf("functional_forms/%s/%s/nonlinearity_p", e, column),
        R$functional_forms[[e]][[column]]$nonlinearity_p)
  for (g in setdiff(names(R$competing), "all")) for (cause in c("relapse", "nrm"))
    add("competing", sprintf("competing/%s/causes/%s/gray/p", g, cause), R$competing[[g]][[cause]]$gray_p)
  for (e in TD_ENDPOINTS) for (g in LANDMARK_REPORTED)
    add("landmark", sprintf("landmark/%s/%s/survival/logrank_p", e, g), R$landmark[[e]][[g]]$logrank_p)
  for (e in names(R$centers$stratified_cox)) {
    m <- R$centers$stratified_cox[[e]]
    for (t in names(m$terms)) add("centers", sprintf("centers/cox/%s/terms/%s/p", e, t), m$terms[[t]]$p)
    add("centers", sprintf("centers/cox/%s/severity_global_p", e), m$severity_global_p)
  }
  add("il6", "il6_by_blasts/p", R$extra$il6_by_bm_blasts_ge20$p)
  for (e in names(R$time_dependent)) for (g in setdiff(names(R$time_dependent[[e]]), "multivariable")) {
    entry <- R$time_dependent[[e]][[g]]
    same <- if (entry$n_events_affected == 0 && entry$n_zero_time == 0) sprintf("survival/%s/%s/logrank_p", e, g) else NA
    add("time_dependent", sprintf("time_dependent/%s/%s/mantel_byar/p", e, g), entry$mantel_byar_p, same)
  }
  for (e in names(R$ph_sensitivity))
    add("ph_sensitivity", sprintf("ph_sensitivity/%s/result/severity_global_p", e), R$ph_sensitivity[[e]]$severity_global_p)
  for (e in names(R$time_dependent))
    add("exposure_models", sprintf("time_dependent_cox/%s/severity_global_p", e),
        R$time_dependent[[e]]$multivariable$severity_global_p)
  for (day in names(R$landmark_models)) for (e in names(R$landmark_models[[day]]))
    add("exposure_models", sprintf("landmark_models/%s/%s/cox/severity_global_p", e, day),
        R$landmark_models[[day]][[e]]$severity_global_p)
  for (r in names(RESPONSES)) for (g in names(TREND_SCORES))
    add("trend", sprintf("response_trend/%s/%s/p", r, g), R$response[[r]][[g]]$trend$p)
  for (e in ENDPOINTS) for (g in names(TREND_SCORES))
    add("trend", sprintf("survival_trend/%s/%s/p", e, g), R$survival[[e]][[g]]$trend$p)
  for (e in names(R$transplant$time_dependent)) for (m in names(R$transplant$time_dependent[[e]])) {
    term <- if (m == "hsct") "hsct" else "yes"  # in the models with a toxicity the report prints its HR
    add("transplant", sprintf("transplant/time_dependent/%s/%s/terms/%s/p", e, m, term),
        R$transplant$time_dependent[[e]][[m]]$terms[[term]]$p)
  }
  for (e in names(R$transplant$censored_at_hsct)) for (g in c("crs", "icans"))
    add("transplant", sprintf("transplant/censored/%s/survival/%s/logrank_p", e, g),
        R$transplant$censored_at_hsct[[e]][[g]]$logrank_p)
  twin[!is.na(twin) & !(twin %in% path)] <- NA  # a twin the table does not hold: the row is its own test
  rows <- list(); families <- list(); holm_of <- c(); bh_of <- c()
  for (f in unique(fam)) {
    i <- which(fam == f & is.na(twin))  # each distinct test once
    if (length(i) == 0) next
    holm <- p.adjust(p[i], "holm"); bh <- p.adjust(p[i], "BH")
    holm_of[path[i]] <- holm; bh_of[path[i]] <- bh
    families[[f]] <- list(n = length(i), n_significant = sum(p[i] < alpha), n_holm = sum(holm < alpha),
                          n_bh = sum(bh < alpha))
  }
  for (j in seq_along(p)) {
    key <- if (is.na(twin[j])) path[j] else twin[j]
    rows[[j]] <- list(family = fam[j], path = path[j], p = p[j], p_holm = holm_of[[key]], p_bh = bh_of[[key]])
    if (!is.na(twin[j])) rows[[j]]$same_as <- twin[j]
  }
  list(alpha = alpha, n = sum(is.na(twin)), families = families, rows = rows)
}

# --------------------------------------------------------------------------- competing risks

competing_data <- function(d) {
  cr <- d[!is.na(lfs_months)]
  status <- ifelse(cr$lfs_event, ifelse(!is.na(cr$relapse_date), 1L, 2L), 0L)
  data.frame(months = cr$lfs_months, status = status, cr[, grep("^grp_", names(cr)), with = FALSE])
}

loglog_ci <- function(f, v) {
  if (is.na(f) || f <= 0 || f >= 1) return(c(NA, NA))
  if (v <= 0) return(c(f, f))
  scale <- Z95 * sqrt(v) / (f * log(f))
  c(f^exp(-scale), f^exp(scale))
}

compare_competing <- function(data, grouping = NULL) {
  causes <- c(relapse = 1L, nrm = 2L)
  risk_times <- seq(0, max(data$months) + 1e-9, by = RISK_STEP_MONTHS)
  out <- list(n = nrow(data), n_relapse = sum(data$status == 1), n_nrm = sum(data$status == 2),
              risk_times = risk_times, at_risk = list())
  if (is.null(grouping)) {
    group <- factor(rep("all", nrow(data)))
    keys <- "all"
  } else {
    group <- droplevels(data[[gcol(grouping)]])
    keys <- GROUPINGS[[grouping]]$keys
  }
  fit <- cuminc(data$months, data$status, group = group, cencode = 0)
  tp <- suppressWarnings(timepoints(fit, CIF_MONTHS))
  for (key in keys) {
    out$at_risk[[key]] <- vapply(risk_times, function(t) sum(data$months[group %in% key] >= t), integer(1))
  }
  for (cause in names(causes)) {
    entry <- list(levels = list())
    if (!is.null(fit$Tests) && !is.null(grouping)) {
      row <- as.character(causes[[cause]])
      if (row %in% rownames(fit$Tests)) {
        entry$gray_statistic <- fit$Tests[row, "stat"]
        entry$gray_p <- fit$Tests[row, "pv"]
        entry$gray_df <- fit$Tests[row, "df"]
      }
    }
    for (key in intersect(keys, levels(group))) {
      curve <- paste(key, causes[[cause]])
      level <- list(n = sum(group == key), events = sum(group == key & data$status == causes[[cause]]))
      for (i in seq_along(CIF_MONTHS)) {
        stem <- paste0("cif_", CIF_MONTHS[i], "m")
        f <- if (curve %in% rownames(tp$est)) tp$est[curve, i] else NA
        v <- if (curve %in% rownames(tp$var)) tp$var[curve, i] else NA
        ci <- loglog_ci(f, v)
        level[[stem]] <- f
        level[[paste0(stem, "_var")]] <- v
        level[[paste0(stem, "_ci_low")]] <- ci[1]
        level[[paste0(stem, "_ci_high")]] <- ci[2]
      }
      entry$levels[[key]] <- level
    }
    out[[cause]] <- entry
  }
  list(summary = out, fit = fit)
}

# --------------------------------------------------------------------------- landmark

landmark_cohort <- function(d, endpoint, day) {
  raw <- copy(d)
  late_crs <- raw$crs_grade > 0 & !is.na(raw$crs_onset_day) & raw$crs_onset_day > day
  late_icans <- raw$icans_grade > 0 & !is.na(raw$icans_onset_day) & raw$icans_onset_day > day
  raw[late_crs, `:=`(crs_grade = 0L, crs_onset_day = NA)]
  raw[late_icans, `:=`(icans_grade = 0L, icans_onset_day = NA, seizure = FALSE)]
  classified <- prepare_cohort(raw)
  died <- !is.na(classified$death_date)
  if (endpoint == "os") {
    rows <- rep(TRUE, nrow(classified))
    end <- classified$last_followup_date
    end[died] <- classified$death_date[died]
    event <- died
  } else {
    rows <- classified$cr_day30
    first <- pmin(classified$relapse_date, classified$death_date, na.rm = TRUE)
    event <- !is.na(first)
    end <- classified$last_followup_date
    end[event] <- first[event]
  }
  days <- as.numeric(end - classified$infusion_date)
  keep <- rows & days > day
  out <- classified[keep]
  out[[paste0(endpoint, "_months")]] <- (days[keep] - day) / DAYS_PER_MONTH
  out[[paste0(endpoint, "_event")]] <- event[keep]
  list(data = out, n_before = sum(rows), n_event_before = sum(rows & !keep & event),
       n_censored_before = sum(rows & !keep & !event),
       n_reclassified = sum((late_crs | late_icans)[keep]))
}

landmark_survival <- function(d, endpoint, grouping, day) {
  lm <- landmark_cohort(d, endpoint, day)
  data <- endpoint_data(lm$data, endpoint)
  out <- compare_survival(data, grouping)
  out$n <- nrow(data)
  out[c("n_before", "n_event_before", "n_censored_before", "n_reclassified")] <-
    lm[c("n_before", "n_event_before", "n_censored_before", "n_reclassified")]
  # reference: the grouping's first level (analysis.estimators.landmark)
  out$hr <- univariable_cox(data, grouping, GROUPINGS[[grouping]]$keys[1])$levels
  list(summary = out, data = data)
}

# --------------------------------------------------------------------------- toxicity as a time-dependent exposure

#' tmerge intervals of one endpoint (days from its origin) split at the CRS and ICANS onsets
#' (moved to the endpoint's clock: LFS starts at the CR date), with the toxicity groupings in
#' force on each interval (a toxicity not yet begun counts as none) and the baseline covariates.
td_data <- function(d, endpoint) {
  s <- d[!is.na(d[[paste0(endpoint, "_months")]])]
  offset <- if (endpoint == "lfs") as.numeric(s$cr_date - s$infusion_date) else 0
  base <- data.frame(id = seq_len(nrow(s)), time = round(s[[paste0(endpoint, "_months")]] * DAYS_PER_MONTH),
                     status = as.numeric(s[[paste0(endpoint, "_event")]]), age = s$age,
                     bm_blasts_ge20 = s$bm_blasts_ge20, ph_positive = as.logical(s$ph_positive),
                     cart_dose_1e6_per_kg = s$cart_dose_1e6_per_kg, crs_grade = s$crs_grade,
                     icans_grade = s$icans_grade, seiz = s$seizure %in% TRUE,
                     crs_t = ifelse(s$crs_grade > 0, s$crs_onset_day, NA) - offset,
                     icans_t = ifelse(s$icans_grade > 0, s$icans_onset_day, NA) - offset)
  base <- base[base$time > 0, ]  # no interval (0, 0] (R: "Stop time must be > start time")
  td <- tmerge(base[, c("id", "age", "bm_blasts_ge20", "ph_positive", "cart_dose_1e6_per_kg", "crs_grade",
                        "icans_grade", "seiz")], base, id = id, ev = event(time, status))
  td <- tmerge(td, base, id = id, crs = tdc(crs_t), icans = tdc(icans_t))
  cg <- ifelse(td$crs == 1, td$crs_grade, 0)
  ig <- ifelse(td$icans == 1, td$icans_grade, 0)
  sz <- td$icans == 1 & td$seiz
  td$grp_crs <- grp_factor(ifelse(cg > 0, "yes", "no"), "crs")
  td$grp_icans <- grp_factor(ifelse(ig > 0 | sz, "yes", "no"), "icans")
  td$grp_severity <- grp_factor(ifelse(!(cg > 0 | ig > 0 | sz), "none",
                                       ifelse(cg >= 3 | ig >= 3 | sz, "severe", "other")), "severity")
  td
}

#' Mantel-Byar test (Mantel & Byar 1974): the log-rank test on counting-process risk sets
#' (start < t <= stop), each patient in the group of the interval at risk: O - E per group and the
#' hypergeometric variance, survdiff's formulas (survdiff takes no Surv(start, stop); coxph's exact
#' score test, the same statistic, is out of reach with hundreds of deaths tied per day).
mantel_byar <- function(td, grouping) {
  g <- as.integer(td[[gcol(grouping)]])
  k <- nlevels(td[[gcol(grouping)]])
  times <- sort(unique(td$tstop[td$ev == 1]))
  at_risk <- deaths <- matrix(0, length(times), k)
  for (j in seq_len(k)) {
    mine <- g == j
    stops <- sort(td$tstop[mine]); starts <- sort(td$tstart[mine])
    at_risk[, j] <- (length(stops) - findInterval(times, stops, left.open = TRUE)) -
      (length(starts) - findInterval(times, starts, left.open = TRUE))
    deaths[, j] <- tabulate(match(td$tstop[mine & td$ev == 1], times), length(times))
  }
  present <- which(colSums(at_risk > 0) > 0)
  if (length(present) < 2) return(list(reason = "only one group at risk"))
  at_risk <- at_risk[, present, drop = FALSE]; deaths <- deaths[, present, drop = FALSE]
  n <- rowSums(at_risk); dd <- rowSums(deaths); used <- n > 1
  share <- at_risk[used, , drop = FALSE] / n[used]
  n <- n[used]; dd <- dd[used]
  u <- colSums(deaths[used, , drop = FALSE] - share * dd)
  scale <- dd * (n - dd) / (n - 1)
  v <- diag(colSums(scale * share), ncol(share)) - t(share * scale) %*% share
  chisq <- drop(u[-1] %*% solve(v[-1, -1, drop = FALSE], u[-1]))
  list(chisq = chisq, df = length(present) - 1, p = pchisq(chisq, length(present) - 1, lower.tail = FALSE))
}

#' Mantel-Byar and univariable coxph of each toxicity grouping on the intervals, and the study's
#' model with the severity group time-dependent (covariates fixed at baseline), per endpoint.
#' Keys: cartox's results JSON (time_dependent.<endpoint>.<grouping>, ....multivariable).
time_dependent <- function(d) {
  out <- list()
  for (endpoint in TD_ENDPOINTS) {
    td <- td_data(d, endpoint)
    n <- length(unique(td$id))
    for (grouping in c("crs", "icans", "severity")) {
      test <- mantel_byar(td, grouping)
      entry <- list(n = n, n_rows = nrow(td), events = sum(td$ev), mantel_byar_chisq = test$chisq,
                    mantel_byar_df = test$df, mantel_byar_p = test$p)
      # events at which a patient at risk was in another group than his last (a toxicity still to
      # come), and patients without an interval (follow-up 0): with neither, every risk set is
      # that of the log-rank test from infusion, and the Mantel-Byar test is that test
      gi <- as.character(td[[gcol(grouping)]]); last <- tapply(seq_along(td$id), td$id, max)
      changes <- gi != gi[last[as.character(td$id)]]
      times <- sort(unique(td$tstop[td$ev == 1]))
      entry$n_events_affected <- sum(td$ev == 1 & td$tstop %in% times[vapply(times, function(t)
        any(changes & td$tstart < t & td$tstop >= t), logical(1))])
      entry$n_zero_time <- sum(!is.na(d[[paste0(endpoint, "_months")]])) - n
      g <- droplevels(td[[gcol(grouping)]])
      fit <- coxph(control = COX_CONTROL, Surv(tstart, tstop, ev) ~ g, data = td, ties = "efron")
      levels <- levels(g)[-1]
      keys <- ifelse(grouping == "severity" & levels == "severe", "severity_ge3", paste0(grouping, "_", levels))
      entry$cox <- cox_summary(fit, setNames(paste0("g", levels), keys), n = n)
      out[[endpoint]][[grouping]] <- entry
    }
    fit <- coxph(control = COX_CONTROL, as.formula(paste("Surv(tstart, tstop, ev) ~", MODELS$baseline$rhs)),
                 data = td, ties = "efron")
    out[[endpoint]]$multivariable <- cox_summary(fit, COX_TERMS, n = n)
  }
  out
}

#' The study's model on the patients alive and event-free at each landmark day, the exposure as known then.
#' Keys: cartox's results JSON (landmark_models.<day>.<endpoint>).
landmark_models <- function(d) {
  out <- list()
  for (day in LANDMARK_MODEL_DAYS) for (endpoint in TD_ENDPOINTS) {
    lm <- landmark_cohort(d, endpoint, day)
    out[[as.character(day)]][[endpoint]] <- c(lm[c("n_before", "n_event_before", "n_censored_before", "n_reclassified")],
                                              fit_cox(lm$data, endpoint, zph = FALSE))
  }
  out
}

# --------------------------------------------------------------------------- trend tests

#' prop.trend.test (Cochran-Armitage) of each response across ordered grades; coxph on the score.
trend_tests <- function(d) {
  out <- list(response = list(), survival = list())
  for (grouping in names(TREND_SCORES)) {
    scores <- TREND_SCORES[[grouping]]
    g <- d[[gcol(grouping)]]
    for (r in names(RESPONSES)) {
      flag <- d[[RESPONSES[[r]]]] %in% TRUE
      x <- vapply(names(scores), function(k) sum(flag[g %in% k]), numeric(1))
      n <- vapply(names(scores), function(k) sum(g %in% k), numeric(1))
      t <- suppressWarnings(prop.trend.test(x, n, score = unname(scores)))
      out$response[[r]][[grouping]] <- list(statistic = unname(t$statistic), p = t$p.value)
    }
    for (endpoint in ENDPOINTS) {
      data <- endpoint_data(d, endpoint)
      score <- unname(scores[as.character(data[[gcol(grouping)]])])
      fit <- coxph(control = COX_CONTROL, Surv(data$months, data$event) ~ score, ties = "efron")
      s <- summary(fit)$coefficients
      b <- s[1, "coef"]; se <- s[1, "se(coef)"]
      out$survival[[endpoint]][[grouping]] <- list(n = fit$n, events = fit$nevent, hr = exp(b),
                                                   ci_low = exp(b - Z95 * se), ci_high = exp(b + Z95 * se),
                                                   coef = b, se = se, p = s[1, "Pr(>|z|)"])
    }
  }
  out
}

# --------------------------------------------------------------------------- transplant after CAR-T

#' HSCT as a time-dependent covariate (tmerge tdc at the transplant, months from the endpoint's origin):
#' coxph ~ hsct, ~ crs + hsct, ~ icans + hsct; and survival censored at HSCT by CRS and by ICANS.
transplant <- function(d) {
  out <- list(n_hsct = sum(!is.na(d$hsct_date)), time_dependent = list(), censored_at_hsct = list())
  if (!out$n_hsct) return(out)
  for (endpoint in TD_ENDPOINTS) {
    s <- d[!is.na(d[[paste0(endpoint, "_months")]])]
    origin <- if (endpoint == "os") s$infusion_date else s$cr_date
    h <- as.numeric(s$hsct_date - origin) / DAYS_PER_MONTH
    time <- s[[paste0(endpoint, "_months")]]
    event <- as.logical(s[[paste0(endpoint, "_event")]])
    base <- data.frame(id = seq_len(nrow(s)), time = time, status = as.numeric(event), h = h,
                       crs = as.numeric(s$grp_crs == "yes"), icans = as.numeric(s$grp_icans == "yes"))
    base <- base[base$time > 0, ]
    td <- tmerge(base[, c("id", "crs", "icans")], base, id = id, ev = event(time, status), hsct = tdc(h))
    for (model in c("hsct", "crs", "icans")) {
      rhs <- if (model == "hsct") "hsct" else paste(model, "+ hsct")
      fit <- coxph(control = COX_CONTROL, as.formula(paste("Surv(tstart, tstop, ev) ~", rhs)), data = td, ties = "efron")
      terms <- if (model == "hsct") c(hsct = "hsct") else setNames(c(model, "hsct"), c("yes", "hsct"))
      out$time_dependent[[endpoint]][[model]] <- c(list(n_rows = nrow(td)),
                                                   cox_summary(fit, terms, n = length(unique(td$id))))
    }
    cut <- !is.na(h) & h < time
    data <- data.frame(months = ifelse(cut, pmax(h, 0), time), event = event & !cut,
                       s[, c("grp_crs", "grp_icans"), with = FALSE])
    entry <- list(n_censored_at_hsct = sum(cut), all = compare_survival(data, NULL))
    for (grouping in c("crs", "icans")) {
      entry[[grouping]] <- compare_survival(data, grouping)
      entry[[grouping]]$cox <- univariable_cox(data, grouping)
    }
    out$censored_at_hsct[[endpoint]] <- entry
  }
  out
}

# --------------------------------------------------------------------------- everything

cohort_flow <- function(d) {
  end <- d$last_followup_date
  died <- !is.na(d$death_date)
  end[died] <- d$death_date[died]
  cr <- d$cr_day30
  evaluable <- cr | as.numeric(end - d$infusion_date) > RESPONSE_ASSESSMENT_DAY
  relapsed <- cr & !is.na(d$relapse_date)
  died_cr <- cr & died & !relapsed
  mrd_neg <- d$mrd_negative_cr
  alive <- cr & !relapsed & !died_cr
  list(infused = nrow(d), not_evaluable = sum(!evaluable), evaluable = sum(evaluable),
       no_cr = sum(evaluable & !cr), cr = sum(cr), mrd_positive_or_unknown_cr = sum(cr & !mrd_neg),
       mrd_negative_cr = sum(mrd_neg), relapsed = sum(relapsed), died_without_relapse = sum(died_cr),
       alive_in_cr = sum(alive), relapsed_mrd_negative = sum(relapsed & mrd_neg),
       died_without_relapse_mrd_negative = sum(died_cr & mrd_neg), alive_in_cr_mrd_negative = sum(alive & mrd_neg))
}

center_supplement <- function(d) {
  sizes <- table(d$center)
  order <- names(sizes)[order(-as.integer(sizes), names(sizes))]
  rows <- lapply(seq_along(order), function(i) {
    g <- d[center == order[i]]
    counts <- vapply(names(CENTER_COUNTS), function(k) sum(g[[k]] %in% TRUE), integer(1))
    list(label = paste("Center", i), n = nrow(g), counts = as.list(counts),
         percents = as.list(100 * counts / nrow(g)))
  })
  cox <- if (length(order) >= 2) lapply(setNames(ENDPOINTS, ENDPOINTS), function(e) fit_cox(d, e, strata = TRUE))
  list(rows = rows, stratified_cox = cox)
}

distribution <- function(x) {
  x <- x[!is.na(x)]
  if (!length(x)) return(list(n = 0L))
  list(n = length(x), median = median(x), min = min(x), max = max(x))
}

#' Every statistic of the report (analysis.report.results.compute_results); `results` holds the
#' JSON-shaped summaries, `objects` the fits the report draws.
compute_results <- function(study, alpha = 0.05, landmark_day = 30) {
  d <- timed("prepare", prepare_cohort(study$cohort))
  k <- study$kinetics
  R <- list(cutoff = format(study$cutoff), n_patients = nrow(d), n_centers = length(unique(d$center)),
            n_male = sum(d$sex == "M"), n_female = sum(d$sex == "F"), n_cr = sum(d$cr_day30),
            n_mrd_negative_cr = sum(d$mrd_negative_cr), n_crs = sum(d$crs_any), n_crs_severe = sum(d$crs_severe),
            n_icans = sum(d$icans_any), n_icans_severe = sum(d$icans_severe), n_concurrent = sum(d$concurrent),
            n_steroids = sum(d$steroids), n_tocilizumab = sum(d$tocilizumab), n_deaths = sum(d$os_event),
            n_lfs_events = sum(d$lfs_event %in% TRUE),
            n_kinetics_patients = if (is.null(k)) 0L else length(unique(k$patient_id)),
            n_kinetics_samples = if (is.null(k)) 0L else nrow(k),
            first_infusion_year = as.integer(format(min(d$infusion_date), "%Y")),
            last_infusion_year = as.integer(format(max(d$infusion_date), "%Y")))
  R$missing <- list(il6_peak_pg_ml = sum(is.na(d$il6_peak_pg_ml)), ferritin_peak_ng_ml = sum(is.na(d$ferritin_peak_ng_ml)),
                    dex_equiv_cum_mg = sum(is.na(d$dex_equiv_cum_mg[d$steroids])),
                    tocilizumab_cum_mg = sum(is.na(d$tocilizumab_cum_mg[d$tocilizumab])))
  R$descriptives <- list(age = distribution(d$age), cart_dose_1e6_per_kg = distribution(d$cart_dose_1e6_per_kg),
                         crs_onset_day = distribution(d$crs_onset_day[d$crs_any]),
                         crs_severe_onset_day = distribution(d$crs_onset_day[d$crs_severe]),
                         icans_onset_day = distribution(d$icans_onset_day[d$icans_any]),
                         icans_severe_onset_day = distribution(d$icans_onset_day[d$icans_severe]),
                         dex_equiv_cum_mg = distribution(d$dex_equiv_cum_mg[d$steroids]),
                         tocilizumab_cum_mg = distribution(d$tocilizumab_cum_mg[d$tocilizumab]))
  R$table1 <- timed("table1", {
    t1 <- list()
    for (variable in names(TABLE1_VARIABLES)) for (grouping in TABLE1_GROUPINGS) {
      t1[[variable]][[grouping]] <- if (TABLE1_VARIABLES[[variable]] == "continuous")
        compare_continuous(d, variable, grouping) else compare_categorical(d, variable, grouping)
    }
    t1
  })
  R$response <- timed("response", {
    out <- list()
    for (r in names(RESPONSES)) for (grouping in names(GROUPINGS)) {
      out[[r]][[grouping]] <- compare_response(d, r, grouping)
      if (length(GROUPINGS[[grouping]]$keys) == 2) out[[r]][[grouping]]$effect <- response_effect(d, r, grouping)
    }
    out
  })
  objects <- list(prepared = d)
  R$survival <- timed("survival", {
    out <- list()
    for (endpoint in ENDPOINTS) {
      data <- endpoint_data(d, endpoint)
      objects$endpoint[[endpoint]] <- data
      out[[endpoint]]$all <- compare_survival(data, NULL)
      for (grouping in names(GROUPINGS)) {
        entry <- compare_survival(data, grouping)
        entry$cox <- univariable_cox(data, grouping)
        if (length(GROUPINGS[[grouping]]$keys) == 2) entry$detectable_hr <- detectable_hr(data, grouping, alpha)
        out[[endpoint]][[grouping]] <- entry
      }
    }
    out
  })
  R$followup <- median_followup(d)
  R$cox <- timed("cox", lapply(setNames(ENDPOINTS, ENDPOINTS), function(e) fit_cox(d, e)))
  R$ph_sensitivity <- Filter(Negate(is.null), lapply(setNames(ENDPOINTS, ENDPOINTS), function(e) ph_sensitivity(d, e, alpha)))
  R$functional_forms <- timed("functional_forms", lapply(setNames(ENDPOINTS, ENDPOINTS),
                                                         function(e) lapply(setNames(nm = c("age", "bm_blasts_pct", "cart_dose_1e6_per_kg")),
                                                                            function(v) functional_form(d, e, v))))
  if (isTRUE(study$synthetic)) {  # cartox fits the publication's model for the synthetic demo only
    R$cox_publication <- timed("cox_publication", lapply(setNames(ENDPOINTS, ENDPOINTS),
                                                           function(e) fit_cox(d, e, model = "publication")))
  }
  # how the kinetics subset was selected: its patients against the others, on Table 1's baseline
  # characteristics and CRS/ICANS, with Table 1's tests (cartox: compare_subset)
  if (!is.null(study$kinetics) && nrow(study$kinetics)) {
    sel <- copy(d)
    sel[, grp_kinetics_data := factor(ifelse(patient_id %in% study$kinetics$patient_id, "with", "without"),
                                      levels = c("with", "without"))]
    GROUPINGS$kinetics_data <<- list(keys = c("with", "without"), labels = c("With kinetics data", "Without"),
                                     ref = "without", title = "CAR-T kinetics data")
    R$kinetics_selection <- lapply(c(setNames(nm = setdiff(names(TABLE1_VARIABLES), AFTER_INFUSION)),
                                     crs_any = "crs_any", icans_any = "icans_any"), function(v)
      if (v %in% names(TABLE1_VARIABLES) && TABLE1_VARIABLES[[v]] == "continuous")
        compare_continuous(sel, v, "kinetics_data") else compare_categorical(sel, v, "kinetics_data"))
    GROUPINGS$kinetics_data <<- NULL
  }
  kin <- timed("kinetics", {
    k <- kinetics_analysis(d, study$kinetics)
    k$il6 <- rank_test(list(na.omit(d$il6_peak_pg_ml[d$bm_blasts_ge20]), na.omit(d$il6_peak_pg_ml[!d$bm_blasts_ge20])))
    k
  })
  R$kinetics <- list(peak = lapply(kin$peak, function(x) x), metrics = kin$metrics, auc = kin$auc,
                     profiles = kin$profiles, visit_windows = VISIT_WINDOWS)
  objects$kinetics_same_split <- kin$same_split
  R$extra <- list(il6_by_bm_blasts_ge20 = kin$il6[c("p", "statistic", "test")])
  objects$kinetics <- kin
  comp <- timed("competing", {
    data <- competing_data(d)
    out <- list(all = compare_competing(data, NULL))
    for (grouping in names(GROUPINGS)) out[[grouping]] <- compare_competing(data, grouping)
    out
  })
  R$competing <- lapply(comp, `[[`, "summary")
  objects$competing <- lapply(comp, `[[`, "fit")
  lm <- timed("landmark", {
    out <- list()
    for (endpoint in TD_ENDPOINTS) for (grouping in LANDMARK_REPORTED) {
      out[[endpoint]][[grouping]] <- landmark_survival(d, endpoint, grouping, landmark_day)
    }
    out
  })
  R$landmark <- c(list(landmark_day = landmark_day),
                  lapply(lm, function(e) lapply(e, `[[`, "summary")))
  objects$landmark <- lapply(lm, function(e) lapply(e, `[[`, "data"))
  R$centers <- timed("centers", center_supplement(d))
  R$time_dependent <- timed("time_dependent", time_dependent(d))
  R$landmark_models <- timed("landmark_models", landmark_models(d))
  trend <- timed("trend", trend_tests(d))  # under cartox's keys: response.R.G.trend, survival.E.G.trend
  for (g in names(TREND_SCORES)) {
    for (r in names(RESPONSES)) R$response[[r]][[g]]$trend <- trend$response[[r]][[g]]
    for (e in ENDPOINTS) R$survival[[e]][[g]]$trend <- trend$survival[[e]][[g]]
  }
  R$transplant <- timed("transplant", transplant(d))
  R$cohort_flow <- cohort_flow(d)
  timed("multiplicity", {
    R$cox <- lapply(R$cox, with_e_values, levels_key = "terms")
    for (e in ENDPOINTS) for (g in names(GROUPINGS)) R$survival[[e]][[g]]$cox <- with_e_values(R$survival[[e]][[g]]$cox, "levels")
    R$pvalues <- pvalue_table(R, alpha, objects$kinetics_same_split)
    for (e in names(R$cox)) R$cox[[e]]$ph_term_p <- NULL  # the table's input, not a result of its own
    for (e in names(R$cox_publication)) R$cox_publication[[e]]$ph_term_p <- NULL
  })
  list(results = R, objects = objects)
}

# --------------------------------------------------------------------------- command line

main <- function(args = commandArgs(trailingOnly = TRUE)) {
  option <- function(name, default) {
    i <- match(name, args)
    if (is.na(i)) default else args[i + 1]
  }
  positional <- args[!args %in% c("--cutoff", "--json", "--landmark-day", "--alpha") &
                     !seq_along(args) %in% (match(c("--cutoff", "--json", "--landmark-day", "--alpha"), args) + 1)]
  if (!length(positional)) stop("usage: Rscript analysis.R COHORT.csv [KINETICS.csv|none] [--cutoff D] [--json F]")
  kinetics <- if (length(positional) >= 2 && positional[2] != "none") positional[2] else NULL
  total <- proc.time()
  study <- timed("load", load_study(positional[1], kinetics, option("--cutoff", "2023-03-01")))
  out <- compute_results(study, as.numeric(option("--alpha", "0.05")), as.integer(option("--landmark-day", "30")))
  dt <- proc.time() - total
  .timings$stages$total <- list(wall = unname(dt[["elapsed"]]),
                                cpu = unname(dt[["user.self"]] + dt[["sys.self"]]))
  message(sprintf("  R %-12s %7.2f s wall  %7.2f s cpu", "total", dt[["elapsed"]],
                  dt[["user.self"]] + dt[["sys.self"]]))
  json <- option("--json", NULL)
  if (!is.null(json)) {
    writeLines(jsonlite::toJSON(out$results, auto_unbox = TRUE, digits = NA, na = "null", null = "null"), json)
  }
  cat(jsonlite::toJSON(list(timings = .timings$stages, n_patients = nrow(study$cohort),
                            r_version = R.version.string), auto_unbox = TRUE, digits = NA), "\n")
  invisible(out)
}

if (sys.nframe() == 0L) main()
