# R references for tests/test_disease_models.py (R 4.x, survival 3.x): the multivariable Cox
# model, the landmark analysis and Table 1 by toxicity group of the LBCL and MM reports,
# computed from the raw bundled demos (data/lbcl/cohort.csv, data/mm/cohort.csv) so that
# the endpoints, the severity group, the cut-offs and the landmark subsets are checked too.
# Run from the repository root: Rscript tests/reference/r_disease_models.R
# It prints one JSON object per profile; the test holds the values with these calls.
library(survival)
library(jsonlite)

read_cohort <- function(f) {
  d <- read.csv(f, skip = 1, na.strings = "")
  for (v in c("infusion_date", "progression_date", "death_date", "last_followup_date")) d[[v]] <- as.Date(d[[v]])
  died <- !is.na(d$death_date)
  d$os_days <- as.numeric(ifelse(died, d$death_date, d$last_followup_date)) - as.numeric(d$infusion_date)
  d$os_event <- died
  first <- pmin(d$progression_date, d$death_date, na.rm = TRUE)
  d$pfs_event <- !is.na(first)
  d$pfs_days <- as.numeric(ifelse(d$pfs_event, first, d$last_followup_date)) - as.numeric(d$infusion_date)
  d
}

# The CRS/ICANS severity group: severe = CRS grade >= 3, ICANS grade >= 3 or a seizure; other =
# any other CRS or ICANS; none. Grades of a toxicity that began after `lm` count as 0.
severity <- function(d, lm = Inf) {
  on_c <- d$crs_grade > 0 & (is.infinite(lm) | (!is.na(d$crs_onset_day) & d$crs_onset_day <= lm))
  on_i <- d$icans_grade > 0 & (is.infinite(lm) | (!is.na(d$icans_onset_day) & d$icans_onset_day <= lm))
  cg <- ifelse(on_c, d$crs_grade, 0); ig <- ifelse(on_i, d$icans_grade, 0)
  sz <- on_i & d$seizure %in% "yes"
  severe <- cg >= 3 | ig >= 3 | sz
  factor(ifelse(!(cg > 0 | ig > 0 | sz), "none", ifelse(severe, "severe", "other")), levels = c("none", "severe", "other"))
}

covariates <- function(d, key) {
  yes <- function(v) v %in% "yes"
  if (key == "lbcl") {
    # not the IPI: a score of age, ECOG, stage and LDH, which the model adjusts for one by one
    data.frame(age = d$age, ecog = d$ecog, stage3 = d$ann_arbor_stage >= 3, ldh = yes(d$ldh_elevated),
               bulky = yes(d$bulky_disease), lines = d$prior_lines, bridging = yes(d$bridging))
  } else {
    data.frame(age = d$age, riss3 = d$r_iss >= 3, hrc = yes(d$high_risk_cytogenetics), emd = yes(d$extramedullary),
               lines = d$prior_lines, tcr = yes(d$triple_class_refractory))
  }
}

fit_model <- function(x, zph = TRUE) {
  # a covariate constant in the patients (LBCL: no bridging therapy) has no coefficient (R: NA);
  # it is left out of the formula so that cox.zph can run
  terms <- setdiff(names(x), c("months", "event"))
  keep <- terms[sapply(x[terms], function(v) length(unique(v[!is.na(v)])) > 1)]
  fit <- coxph(as.formula(paste("Surv(months, event) ~", paste(keep, collapse = " + "))), data = x, ties = "efron")
  i <- grep("^sev", names(coef(fit))); b <- coef(fit)[i]
  out <- list(n = fit$n, events = fit$nevent, coef = as.list(coef(fit)), se = as.list(sqrt(diag(vcov(fit)))),
              p = as.list(summary(fit)$coefficients[, "Pr(>|z|)"]),
              joint_chisq = as.numeric(t(b) %*% solve(vcov(fit)[i, i]) %*% b),
              constant = setdiff(terms, keep))
  if (zph) {  # cox.zph(fit): per term (the severity group one 2-df term) and GLOBAL
    z <- cox.zph(fit)
    out$zph_chisq <- as.list(z$table[, "chisq"]); out$zph_p <- as.list(z$table[, "p"])
  }
  out
}

model <- function(d, key, endpoint, lm = NULL) {
  days <- d[[paste0(endpoint, "_days")]]; event <- d[[paste0(endpoint, "_event")]]
  x <- covariates(d, key)
  if (is.null(lm)) {
    x$months <- days / 30.4375; x$event <- event; x$sev <- severity(d)
    return(fit_model(x))
  }
  x$months <- (days - lm) / 30.4375; x$event <- event; x$sev <- severity(d, lm)
  fit_model(x[days > lm, ], zph = FALSE)  # the report prints no PH test of the landmark model
}

landmark <- function(d, endpoint, tox, lm) {
  days <- d[[paste0(endpoint, "_days")]]; event <- d[[paste0(endpoint, "_event")]]
  grade <- d[[paste0(tox, "_grade")]]; onset <- d[[paste0(tox, "_onset_day")]]
  group <- factor(ifelse(grade > 0 & !is.na(onset) & onset <= lm, "yes", "no"), levels = c("no", "yes"))
  x <- data.frame(months = (days - lm) / 30.4375, event = event, group = group)[days > lm, ]
  sd <- survdiff(Surv(months, event) ~ group, data = x)
  fit <- coxph(Surv(months, event) ~ group, data = x, ties = "efron")
  list(n = nrow(x), events = sum(x$event), n_yes = sum(x$group == "yes"), chisq = sd$chisq,
       p = pchisq(sd$chisq, 1, lower.tail = FALSE), coef = unname(coef(fit)), se = unname(sqrt(vcov(fit)[1, 1])))
}

# Table 1 by toxicity group: wilcox.test (two groups; R's exact/normal rule) or kruskal.test
# for numbers; chisq.test(correct = FALSE) when every expected count is >= 5, else fisher.test,
# for the row's flag (stage III-IV, R-ISS III, yes/no).
table1_tests <- function(d, key) {
  sev <- severity(d)
  groups <- list(crs = factor(d$crs_grade > 0), icans = factor(d$icans_grade > 0 | d$seizure %in% "yes"), severity = sev)
  rows <- if (key == "lbcl") {
    list(age = d$age, ecog = d$ecog, ann_arbor_stage = d$ann_arbor_stage >= 3, ldh_elevated = d$ldh_elevated == "yes",
         bulky_disease = d$bulky_disease == "yes", ipi = d$ipi, prior_lines = d$prior_lines)
  } else {
    list(age = d$age, r_iss = d$r_iss == 3, high_risk_cytogenetics = d$high_risk_cytogenetics == "yes",
         extramedullary = d$extramedullary == "yes", prior_lines = d$prior_lines,
         triple_class_refractory = d$triple_class_refractory == "yes")
  }
  out <- list()
  for (v in names(rows)) for (g in names(groups)) {
    x <- rows[[v]]; grp <- droplevels(groups[[g]][!is.na(x)]); x <- x[!is.na(x)]
    if (is.logical(x)) {
      m <- table(grp, x)
      e <- outer(rowSums(m), colSums(m)) / sum(m)
      p <- if (min(e) >= 5) chisq.test(m, correct = FALSE)$p.value else fisher.test(m)$p.value
    } else if (nlevels(grp) == 2) {
      p <- suppressWarnings(wilcox.test(x ~ grp))$p.value
    } else {
      p <- kruskal.test(x ~ grp)$p.value
    }
    out[[paste(v, g, sep = "|")]] <- p
  }
  out
}

# PFS at 12 months by severity group (the manuscript's absolute risks, STROBE 16c): R's
# default log-transformed CI, the groups in the order none, severe, other.
pfs12 <- function(d) {
  sev <- severity(d)
  s <- summary(survfit(Surv(pfs_days / 30.4375, pfs_event) ~ sev, data = d), times = 12)
  list(surv = s$surv, lower = s$lower, upper = s$upper)
}

for (key in c("lbcl", "mm")) {
  d <- read_cohort(sprintf("data/%s/cohort.csv", key))
  res <- list(
    cox = list(pfs = model(d, key, "pfs"), os = model(d, key, "os")),
    landmark = list(),
    landmark_model = list(pfs = model(d, key, "pfs", 30), os = model(d, key, "os", 30)),
    table1 = table1_tests(d, key),
    pfs12 = pfs12(d)
  )
  for (endpoint in c("pfs", "os")) for (tox in c("crs", "icans"))
    res$landmark[[paste(endpoint, tox, sep = "|")]] <- landmark(d, endpoint, tox, 30)
  cat(key, toJSON(res, auto_unbox = TRUE, digits = 13), "\n")
}
