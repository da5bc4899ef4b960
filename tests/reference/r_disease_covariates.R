# R reference for tests/test_disease_models.py::test_the_study_files_covariates_make_the_disease_model
# (R 4.x, survival 3.x): the LBCL demo's multivariable model with the covariates a study file names
# (`analysis: covariates: [age, ldh_elevated]`) instead of the profile's own, computed from the raw
# bundled demo (data/lbcl/cohort.csv): PFS (progression or death) from the dates, the CRS/ICANS
# severity group (none, severe, other) as tests/reference/r_disease_models.R builds them.
# Run from the repository root: Rscript tests/reference/r_disease_covariates.R
library(survival)
library(jsonlite)

d <- read.csv("data/lbcl/cohort.csv", skip = 1, na.strings = "")
for (v in c("infusion_date", "progression_date", "death_date", "last_followup_date")) d[[v]] <- as.Date(d[[v]])
first <- pmin(d$progression_date, d$death_date, na.rm = TRUE)
d$pfs_event <- !is.na(first)
d$pfs_months <- (as.numeric(ifelse(d$pfs_event, first, d$last_followup_date)) - as.numeric(d$infusion_date)) / 30.4375
seizure <- d$seizure %in% "yes"
severe <- d$crs_grade >= 3 | d$icans_grade >= 3 | seizure
d$severity <- factor(ifelse(!(d$crs_grade > 0 | d$icans_grade > 0 | seizure), "none", ifelse(severe, "severe", "other")),
                     levels = c("none", "severe", "other"))
d$ldh_elevated <- d$ldh_elevated %in% "yes"

fit <- coxph(Surv(pfs_months, pfs_event) ~ severity + age + ldh_elevated, data = d, ties = "efron")
s <- summary(fit)
cat(toJSON(list(n = fit$n, events = fit$nevent, hr = as.list(exp(coef(fit))),
                lower = as.list(s$conf.int[, "lower .95"]), upper = as.list(s$conf.int[, "upper .95"]),
                p = as.list(s$coefficients[, "Pr(>|z|)"])), auto_unbox = TRUE, digits = 13), "\n")

# tests/test_disease_plan_options.py::test_the_study_files_cut_offs_make_the_disease_model: the same
# covariates with `analysis: covariate_cutoffs: {age: 65}` (age entered as ">= 65 versus < 65").
d$age_ge65 <- d$age >= 65
fit65 <- coxph(Surv(pfs_months, pfs_event) ~ severity + age_ge65 + ldh_elevated, data = d, ties = "efron")
s65 <- summary(fit65)
cat(toJSON(list(n = fit65$n, events = fit65$nevent, n_age_ge65 = sum(d$age_ge65), hr = as.list(exp(coef(fit65))),
                lower = as.list(s65$conf.int[, "lower .95"]), upper = as.list(s65$conf.int[, "upper .95"]),
                p = as.list(s65$coefficients[, "Pr(>|z|)"])), auto_unbox = TRUE, digits = 13), "\n")
