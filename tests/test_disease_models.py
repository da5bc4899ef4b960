"""The multivariable Cox model, the landmark analysis and Table 1 by toxicity group of the
LBCL and MM reports (issue 24) against R, and the families of their p-values.

R reference values: ``tests/reference/r_disease_models.R`` reads the raw bundled demos
(data/lbcl/cohort.csv, data/mm/cohort.csv), builds PFS (progression or death) and OS from the
dates, the CRS/ICANS severity group, the covariates at the profile's cut-offs and the landmark
subsets itself, and prints what these calls return (R 4.x, survival 3.x); :data:`R_MODELS` is
its output as printed:

    cox[endpoint]  fit <- coxph(Surv(months, event) ~ <covariates> + sev, ties = "efron")
                   # LBCL: age + ecog + stage3 (ann_arbor_stage >= 3) + ldh + bulky + lines (+ bridging:
                   #   constant in the demo, NA in R, left out of the formula: `constant`); not the IPI,
                   #   a score of age, ECOG, stage and LDH (double adjustment, collinear terms)
                   # MM: age + riss3 (r_iss >= 3) + hrc + emd + lines + tcr; sev: factor(none, severe, other)
                   coef(fit); sqrt(diag(vcov(fit))); summary(fit)$coefficients[, "Pr(>|z|)"]
                   i <- grep("^sev", names(coef(fit))); t(b) %*% solve(vcov(fit)[i, i]) %*% b   # joint_chisq
                   cox.zph(fit)$table[, c("chisq", "p")]                                          # zph_*
    landmark["pfs|crs"]  x <- subset(days > 30); group: grade > 0 & onset <= 30; months = (days - 30) / 30.4375
                   survdiff(Surv(months, event) ~ group, data = x)$chisq                          # chisq, p
                   coxph(Surv(months, event) ~ group, data = x, ties = "efron")                   # coef, se
    landmark_model[endpoint]  the cox model above on x, severity from the grades begun by day 30
    table1["age|crs"]  wilcox.test(x ~ grp)$p.value (2 groups) or kruskal.test(x ~ grp)$p.value;
                   for a flag (stage III–IV, R-ISS III, yes/no): chisq.test(m, correct = FALSE) when every
                   expected count >= 5, else fisher.test(m)
    pfs12          summary(survfit(Surv(pfs_days / 30.4375, pfs_event) ~ sev), times = 12)   # surv, lower,
                   upper (R's default log CI), groups none, severe, other: the manuscript's absolute risks
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.inputs.loading import load_study
from analysis.inputs.studyfile import load_settings, resolve_study
from analysis.report.disease_results import compute_disease_results

ROOT = Path(__file__).resolve().parents[1]
REL, ABS = 1e-7, 1e-10

#: R's coefficient names -> the report's term keys (and cox.zph's term names -> the model terms)
R_TERMS = {
    "age": "age",
    "ecog": "ecog",
    "stage3TRUE": "ann_arbor_stage_ge3",
    "ldhTRUE": "ldh_elevated",
    "bulkyTRUE": "bulky_disease",
    "bridgingTRUE": "bridging",
    "ipi": "ipi",
    "lines": "prior_lines",
    "riss3TRUE": "r_iss_ge3",
    "hrcTRUE": "high_risk_cytogenetics",
    "emdTRUE": "extramedullary",
    "tcrTRUE": "triple_class_refractory",
    "sevsevere": "severity_ge3",
    "sevother": "severity_other",
    "bridging": "bridging",
}
R_ZPH_TERMS = {
    "stage3": "ann_arbor_stage_ge3",
    "ldh": "ldh_elevated",
    "bulky": "bulky_disease",
    "lines": "prior_lines",
    "riss3": "r_iss_ge3",
    "hrc": "high_risk_cytogenetics",
    "emd": "extramedullary",
    "tcr": "triple_class_refractory",
    "sev": "severity",
}

R_MODELS = {
    "lbcl": {
        "cox": {
            "pfs": {
                "n": 101,
                "events": 60,
                "coef": {
                    "age": 0.011954470564279,
                    "ecog": 0.43579622905638,
                    "stage3TRUE": 0.61826011119464,
                    "ldhTRUE": -0.019542368918295,
                    "bulkyTRUE": 0.50396652279123,
                    "lines": 0.023567342898433,
                    "sevsevere": -0.041816716183046,
                    "sevother": 0.12737415392021,
                },
                "se": {
                    "age": 0.012300574928278,
                    "ecog": 0.27589477047914,
                    "stage3TRUE": 0.48311722460074,
                    "ldhTRUE": 0.27811077335849,
                    "bulkyTRUE": 0.37180089465482,
                    "lines": 0.082822539049959,
                    "sevsevere": 0.64636839349143,
                    "sevother": 0.627483379244,
                },
                "p": {
                    "age": 0.33111883386442,
                    "ecog": 0.11420443840437,
                    "stage3TRUE": 0.20063974191949,
                    "ldhTRUE": 0.94398011974369,
                    "bulkyTRUE": 0.17526652098847,
                    "lines": 0.77598717003838,
                    "sevsevere": 0.94841695111736,
                    "sevother": 0.83914122557684,
                },
                "joint_chisq": 0.36962023680505,
                "constant": "bridging",
                "zph_chisq": {
                    "age": 0.038862446826368,
                    "ecog": 0.41790994167741,
                    "stage3": 1.9269122745006,
                    "ldh": 0.37020384038412,
                    "bulky": 0.58229233546848,
                    "lines": 0.14897080413497,
                    "sev": 0.033983552569788,
                    "GLOBAL": 3.5003434947324,
                },
                "zph_p": {
                    "age": 0.84372142120239,
                    "ecog": 0.51798178934073,
                    "stage3": 0.16509665381651,
                    "ldh": 0.54289317863642,
                    "bulky": 0.44541519877969,
                    "lines": 0.69952084116552,
                    "sev": 0.98315176976173,
                    "GLOBAL": 0.8991629898403,
                },
            },
            "os": {
                "n": 101,
                "events": 44,
                "coef": {
                    "age": 0.0077132414410448,
                    "ecog": 0.61719076357741,
                    "stage3TRUE": 0.45763438574907,
                    "ldhTRUE": -0.154434408037,
                    "bulkyTRUE": 0.78012785231317,
                    "lines": 0.070615114917568,
                    "sevsevere": 0.49173681471034,
                    "sevother": 0.34202453104042,
                },
                "se": {
                    "age": 0.01417775128374,
                    "ecog": 0.33244065860336,
                    "stage3TRUE": 0.55011604106268,
                    "ldhTRUE": 0.32144078777812,
                    "bulkyTRUE": 0.40491641059571,
                    "lines": 0.093607403002478,
                    "sevsevere": 0.78311302660135,
                    "sevother": 0.76461943523164,
                },
                "p": {
                    "age": 0.58641503306421,
                    "ecog": 0.063376034593072,
                    "stage3TRUE": 0.40547272759524,
                    "ldhTRUE": 0.63091147008789,
                    "bulkyTRUE": 0.054024602764149,
                    "lines": 0.45062388468467,
                    "sevsevere": 0.5300525981282,
                    "sevother": 0.65464878208429,
                },
                "joint_chisq": 0.48939414940445,
                "constant": "bridging",
                "zph_chisq": {
                    "age": 6.2028698939497,
                    "ecog": 0.09126559226041,
                    "stage3": 2.7127114148878,
                    "ldh": 0.045421449811744,
                    "bulky": 0.12891123760083,
                    "lines": 0.059681092790738,
                    "sev": 4.6768697732504,
                    "GLOBAL": 13.1738900907971,
                },
                "zph_p": {
                    "age": 0.012754334379249,
                    "ecog": 0.76257434084146,
                    "stage3": 0.099551655422988,
                    "ldh": 0.83123095820588,
                    "bulky": 0.71956358655506,
                    "lines": 0.80700069805242,
                    "sev": 0.096478519948148,
                    "GLOBAL": 0.10600500943665,
                },
            },
        },
        "landmark": {
            "pfs|crs": {
                "n": 93,
                "events": 52,
                "n_yes": 86,
                "chisq": 1.731522726378,
                "p": 0.18821654810241,
                "coef": -0.61347882850048,
                "se": 0.47188003519532,
            },
            "pfs|icans": {
                "n": 93,
                "events": 52,
                "n_yes": 61,
                "chisq": 0.067117226733261,
                "p": 0.79558128813031,
                "coef": 0.076329386003069,
                "se": 0.29614832754286,
            },
            "os|crs": {
                "n": 100,
                "events": 43,
                "n_yes": 93,
                "chisq": 0.35238460044766,
                "p": 0.55276635969919,
                "coef": -0.31031400115503,
                "se": 0.52546031461604,
            },
            "os|icans": {
                "n": 100,
                "events": 43,
                "n_yes": 64,
                "chisq": 0.71232284324368,
                "p": 0.39867376110488,
                "coef": -0.26081398297498,
                "se": 0.30979789103944,
            },
        },
        "landmark_model": {
            "pfs": {
                "n": 93,
                "events": 52,
                "coef": {
                    "age": 0.0082798046697378,
                    "ecog": 0.45673803024668,
                    "stage3TRUE": 0.47343057125949,
                    "ldhTRUE": -0.036236724125486,
                    "bulkyTRUE": 0.19485456348439,
                    "lines": -0.014975627641151,
                    "sevsevere": -0.27173096683155,
                    "sevother": -0.08244402511211,
                },
                "se": {
                    "age": 0.013034703532758,
                    "ecog": 0.29507068412481,
                    "stage3TRUE": 0.48749291833456,
                    "ldhTRUE": 0.29702793934401,
                    "bulkyTRUE": 0.44568446715563,
                    "lines": 0.08912797241907,
                    "sevsevere": 0.65531958393585,
                    "sevother": 0.63272992227561,
                },
                "p": {
                    "age": 0.52528992928645,
                    "ecog": 0.12164791027337,
                    "stage3TRUE": 0.33147172570556,
                    "ldhTRUE": 0.9029008432928,
                    "bulkyTRUE": 0.66196417105327,
                    "lines": 0.86656449352117,
                    "sevsevere": 0.67839512180213,
                    "sevother": 0.89632993501669,
                },
                "joint_chisq": 0.44035851296126,
                "constant": "bridging",
            },
            "os": {
                "n": 100,
                "events": 43,
                "coef": {
                    "age": 0.0050657283756247,
                    "ecog": 0.69298348100702,
                    "stage3TRUE": 0.41398768857047,
                    "ldhTRUE": -0.12827987077612,
                    "bulkyTRUE": 0.65026417327457,
                    "lines": 0.077962096147168,
                    "sevsevere": 0.41938265629691,
                    "sevother": 0.34207885960499,
                },
                "se": {
                    "age": 0.014162115648068,
                    "ecog": 0.34012744350922,
                    "stage3TRUE": 0.55295159930199,
                    "ldhTRUE": 0.32471953887531,
                    "bulkyTRUE": 0.42878378348269,
                    "lines": 0.093600048189532,
                    "sevsevere": 0.78722031189038,
                    "sevother": 0.76601362716577,
                },
                "p": {
                    "age": 0.72057102468226,
                    "ecog": 0.041607669574611,
                    "stage3TRUE": 0.45404586505796,
                    "ldhTRUE": 0.69280731317132,
                    "bulkyTRUE": 0.12938497673328,
                    "lines": 0.40488536595401,
                    "sevsevere": 0.59421453373229,
                    "sevother": 0.65518541507031,
                },
                "joint_chisq": 0.29234835342546,
                "constant": "bridging",
            },
        },
        "table1": {
            "age|crs": 0.91475429731859,
            "age|icans": 0.92650731203829,
            "age|severity": 0.77228615478959,
            "ecog|crs": 0.97515990990555,
            "ecog|icans": 0.77894308416857,
            "ecog|severity": 0.69247731309048,
            "ann_arbor_stage|crs": 0.19396138350367,
            "ann_arbor_stage|icans": 1,
            "ann_arbor_stage|severity": 0.56081054139001,
            "ldh_elevated|crs": 1,
            "ldh_elevated|icans": 0.77726323238149,
            "ldh_elevated|severity": 0.78836072159611,
            "bulky_disease|crs": 1,
            "bulky_disease|icans": 1,
            "bulky_disease|severity": 0.77159559009156,
            "ipi|crs": 0.84493092100502,
            "ipi|icans": 0.258568867455,
            "ipi|severity": 0.50340434295696,
            "prior_lines|crs": 0.8058756808275,
            "prior_lines|icans": 0.049344352379422,
            "prior_lines|severity": 0.80568834526556,
        },
        "pfs12": {
            "surv": [0.4, 0.44505494505494, 0.45843091334895],
            "lower": [0.13672178038905, 0.30440027469284, 0.34888184643263],
            "upper": [1, 0.65070212015325, 0.60237843975792],
        },
    },
    "mm": {
        "cox": {
            "pfs": {
                "n": 128,
                "events": 73,
                "coef": {
                    "age": -0.02136839247017,
                    "riss3TRUE": -0.2282758118146,
                    "hrcTRUE": -0.0854742817822,
                    "emdTRUE": 0.32543211016303,
                    "lines": -0.044122485694232,
                    "tcrTRUE": -0.10863802978607,
                    "sevsevere": -0.099231893186503,
                    "sevother": 0.40376149831012,
                },
                "se": {
                    "age": 0.013187743861108,
                    "riss3TRUE": 0.32642090526977,
                    "hrcTRUE": 0.26008395086913,
                    "emdTRUE": 0.25012576049947,
                    "lines": 0.064952079258596,
                    "tcrTRUE": 0.32127222557524,
                    "sevsevere": 0.58511150903437,
                    "sevother": 0.38074389186679,
                },
                "p": {
                    "age": 0.10516310977902,
                    "riss3TRUE": 0.48434605225867,
                    "hrcTRUE": 0.74242696107956,
                    "emdTRUE": 0.19323314490234,
                    "lines": 0.4969425467933,
                    "tcrTRUE": 0.73525055933943,
                    "sevsevere": 0.86532878026914,
                    "sevother": 0.28893796901093,
                },
                "joint_chisq": 2.0795361491572,
                "constant": [],
                "zph_chisq": {
                    "age": 0.018546384227735,
                    "riss3": 0.33855469999447,
                    "hrc": 0.014078837694423,
                    "emd": 0.086134969922613,
                    "lines": 0.031462553562046,
                    "tcr": 0.0045619516722289,
                    "sev": 0.12157721040072,
                    "GLOBAL": 0.59363314130159,
                },
                "zph_p": {
                    "age": 0.89167494587443,
                    "riss3": 0.560664666808,
                    "hrc": 0.90554926140339,
                    "emd": 0.76914947805374,
                    "lines": 0.85921237529317,
                    "tcr": 0.94615005092603,
                    "sev": 0.9410221459394,
                    "GLOBAL": 0.99974465017553,
                },
            },
            "os": {
                "n": 128,
                "events": 31,
                "coef": {
                    "age": -0.01952245127442,
                    "riss3TRUE": 0.053183580848405,
                    "hrcTRUE": 0.13885126807478,
                    "emdTRUE": -0.54809562694356,
                    "lines": -0.11477317765782,
                    "tcrTRUE": -0.52744339133581,
                    "sevsevere": 2.3272528262549,
                    "sevother": 1.8650315716954,
                },
                "se": {
                    "age": 0.020808986372718,
                    "riss3TRUE": 0.47623077937397,
                    "hrcTRUE": 0.38768828004994,
                    "emdTRUE": 0.43304949893359,
                    "lines": 0.10781532140188,
                    "tcrTRUE": 0.44742972686807,
                    "sevsevere": 1.1875564783751,
                    "sevother": 1.0262515495503,
                },
                "p": {
                    "age": 0.34815496568905,
                    "riss3TRUE": 0.91108025566524,
                    "hrcTRUE": 0.7202296912566,
                    "emdTRUE": 0.20563301684676,
                    "lines": 0.28708643089597,
                    "tcrTRUE": 0.23846604819605,
                    "sevsevere": 0.050031023176784,
                    "sevother": 0.069167517092484,
                },
                "joint_chisq": 3.9399920881909,
                "constant": [],
                "zph_chisq": {
                    "age": 5.3241472128901,
                    "riss3": 0.83318778279168,
                    "hrc": 0.035771316345309,
                    "emd": 1.1392224878815,
                    "lines": 0.34636589728136,
                    "tcr": 0.062499516081045,
                    "sev": 0.58061869785886,
                    "GLOBAL": 10.326953448988,
                },
                "zph_p": {
                    "age": 0.021031898192109,
                    "riss3": 0.36135236512922,
                    "hrc": 0.84998852687433,
                    "emd": 0.28581667968923,
                    "lines": 0.55617755183726,
                    "tcr": 0.80258809709982,
                    "sev": 0.74803212884451,
                    "GLOBAL": 0.24282373622745,
                },
            },
        },
        "landmark": {
            "pfs|crs": {
                "n": 120,
                "events": 65,
                "n_yes": 100,
                "chisq": 1.378147324176,
                "p": 0.24041697763153,
                "coef": 0.43976654717097,
                "se": 0.37781738785704,
            },
            "pfs|icans": {
                "n": 120,
                "events": 65,
                "n_yes": 21,
                "chisq": 0.058446895327319,
                "p": 0.80896774122786,
                "coef": -0.078178527065633,
                "se": 0.33102019378489,
            },
            "os|crs": {
                "n": 127,
                "events": 30,
                "n_yes": 106,
                "chisq": 4.4714422217898,
                "p": 0.034465887921743,
                "coef": 1.8677028219419,
                "se": 1.0173296377485,
            },
            "os|icans": {
                "n": 127,
                "events": 30,
                "n_yes": 23,
                "chisq": 2.6925399152149,
                "p": 0.10081899079802,
                "coef": 0.66870958126184,
                "se": 0.41487591661652,
            },
        },
        "landmark_model": {
            "pfs": {
                "n": 120,
                "events": 65,
                "coef": {
                    "age": -0.014212979831258,
                    "riss3TRUE": -0.15694791791183,
                    "hrcTRUE": -0.11972003304007,
                    "emdTRUE": 0.382493976221,
                    "lines": -0.035998813709897,
                    "tcrTRUE": -0.15321706121144,
                    "sevsevere": -0.21494577793836,
                    "sevother": 0.45990102869408,
                },
                "se": {
                    "age": 0.014126246530017,
                    "riss3TRUE": 0.34193999081335,
                    "hrcTRUE": 0.27701757838838,
                    "emdTRUE": 0.26454712184236,
                    "lines": 0.068710479964131,
                    "tcrTRUE": 0.33716406001376,
                    "sevsevere": 0.642388844993,
                    "sevother": 0.40613689944294,
                },
                "p": {
                    "age": 0.31434829258036,
                    "riss3TRUE": 0.64623949588806,
                    "hrcTRUE": 0.66561432995261,
                    "emdTRUE": 0.14822084790248,
                    "lines": 0.60033399071373,
                    "tcrTRUE": 0.64952022312351,
                    "sevsevere": 0.7379239435713,
                    "sevother": 0.25747499253389,
                },
                "joint_chisq": 2.7157803411525,
                "constant": [],
            },
            "os": {
                "n": 127,
                "events": 30,
                "coef": {
                    "age": -0.012944580883948,
                    "riss3TRUE": 0.1136220063662,
                    "hrcTRUE": 0.19716859457165,
                    "emdTRUE": -0.47881969812755,
                    "lines": -0.11427792014368,
                    "tcrTRUE": -0.60203718592991,
                    "sevsevere": 2.3672356441896,
                    "sevother": 1.8742758827449,
                },
                "se": {
                    "age": 0.021408230333558,
                    "riss3TRUE": 0.48012934194919,
                    "hrcTRUE": 0.39153583258456,
                    "emdTRUE": 0.43688528964307,
                    "lines": 0.10974235293963,
                    "tcrTRUE": 0.45050545517436,
                    "sevsevere": 1.1884677903791,
                    "sevother": 1.0272024636716,
                },
                "p": {
                    "age": 0.5454086460161,
                    "riss3TRUE": 0.81292930079417,
                    "hrcTRUE": 0.61455838090914,
                    "emdTRUE": 0.27308536494702,
                    "lines": 0.29772277411012,
                    "tcrTRUE": 0.18143183994184,
                    "sevsevere": 0.046388804225589,
                    "sevother": 0.068055199656202,
                },
                "joint_chisq": 4.0467068662149,
                "constant": [],
            },
        },
        "table1": {
            "age|crs": 0.5927717114622,
            "age|icans": 0.30804116354224,
            "age|severity": 0.85454917152026,
            "r_iss|crs": 0.54440410314681,
            "r_iss|icans": 0.24241415846843,
            "r_iss|severity": 0.43158264529678,
            "high_risk_cytogenetics|crs": 0.070580125807174,
            "high_risk_cytogenetics|icans": 0.65939792213059,
            "high_risk_cytogenetics|severity": 0.24664778686285,
            "extramedullary|crs": 0.88619192053752,
            "extramedullary|icans": 0.79107175759032,
            "extramedullary|severity": 0.47280928383441,
            "prior_lines|crs": 0.25203546598212,
            "prior_lines|icans": 0.60466332119059,
            "prior_lines|severity": 0.43680252379025,
            "triple_class_refractory|crs": 0.358557650756,
            "triple_class_refractory|icans": 0.22813214594299,
            "triple_class_refractory|severity": 0.45146002269472,
        },
        "pfs12": {
            "surv": [0.53846153846154, 0.54545454545455, 0.42217939065032],
            "lower": [0.3472994316048, 0.31803363366485, 0.33326868306667],
            "upper": [0.83484394737592, 0.93550061900231, 0.53481004050483],
        },
    },
}


@pytest.fixture(scope="module", params=["lbcl", "mm"])
def demo(request):
    study = load_settings(resolve_study(None, disease=request.param, base=ROOT))
    return request.param, compute_disease_results(study)


def _constant(model: dict) -> list[str]:
    """The covariates R left out for being constant (jsonlite writes one name as a string)."""
    c = model["constant"]
    return [c] if isinstance(c, str) else list(c)


def _close(a, b) -> bool:
    return a is not None and b is not None and a == pytest.approx(b, rel=REL, abs=ABS)


def _cox_pairs(name: str, cox, r: dict, zph: bool = True) -> list[tuple[str, object, object]]:
    """(what, cartox, R) for every statistic of one model."""
    terms = {t.key: t for t in cox.terms}
    pairs: list[tuple[str, object, object]] = [
        (f"{name} n", cox.n, r["n"]),
        (f"{name} events", cox.events, r["events"]),
    ]
    for r_name, coef in r["coef"].items():
        t = terms[R_TERMS[r_name]]
        pairs += [
            (f"{name} {t.key} coef", t.coef, coef),
            (f"{name} {t.key} se", t.se, r["se"][r_name]),
            (f"{name} {t.key} p", t.p, r["p"][r_name]),
        ]
    pairs.append((f"{name} joint chisq", cox.severity_global_chisq, r["joint_chisq"]))
    if zph:
        tests = {t.term: t for t in cox.ph_tests}
        for r_name, chisq in r["zph_chisq"].items():
            t = tests[R_ZPH_TERMS.get(r_name, r_name)]
            pairs += [
                (f"{name} zph {t.term} chisq", t.chisq, chisq),
                (f"{name} zph {t.term} p", t.p, r["zph_p"][r_name]),
            ]
    return pairs


def r_pairs(key: str, results) -> list[tuple[str, object, object]]:
    """Every new statistic of a profile's report beside R's value (the agreement count of the
    closing note: how many are compared, how many agree)."""
    r = R_MODELS[key]
    pairs = []
    for endpoint, model in r["cox"].items():
        pairs += _cox_pairs(f"cox {endpoint}", results.cox[endpoint], model)
    for name, lm in r["landmark"].items():
        endpoint, grouping = name.split("|")
        c = results.landmark[(endpoint, grouping)]
        hr = c.hazard_ratios[0]
        pairs += [
            (f"landmark {name} n", c.n, lm["n"]),
            (f"landmark {name} events", sum(lv.events for lv in c.survival.levels), lm["events"]),
            (f"landmark {name} n yes", c.survival.levels[1].n, lm["n_yes"]),
            (f"landmark {name} chisq", c.survival.logrank_chisq, lm["chisq"]),
            (f"landmark {name} p", c.survival.logrank_p, lm["p"]),
            (f"landmark {name} coef", hr.coef, lm["coef"]),
            (f"landmark {name} se", hr.se, lm["se"]),
        ]
    for endpoint, model in r["landmark_model"].items():
        lm = results.landmark_models[(endpoint, 30)]
        pairs += _cox_pairs(f"landmark model {endpoint}", lm.cox, model, zph=False)
    for name, p in r["table1"].items():
        column, grouping = name.split("|")
        pairs.append((f"table1 {name} p", results.table1_by[(column, grouping)].result.p, p))
    # R's factor levels are none, severe, other (tests/reference/r_disease_models.R): matched by key
    in_r = dict(zip(("none", "severe", "other"), zip(r["pfs12"]["surv"], r["pfs12"]["lower"], r["pfs12"]["upper"])))
    for level in results.survival[("pfs", "severity")].levels:
        surv, low, high = in_r[level.key]
        point = next(x for x in level.landmarks if x.months == 12)
        pairs += [
            (f"pfs12 {level.key} surv", point.survival, surv),
            (f"pfs12 {level.key} lower", point.ci_low, low),
            (f"pfs12 {level.key} upper", point.ci_high, high),
        ]
    return pairs


def test_models_landmark_and_table1_agree_with_r(demo):
    key, results = demo
    pairs = r_pairs(key, results)
    wrong = [(what, ours, theirs) for what, ours, theirs in pairs if not _close(ours, theirs)]
    assert not wrong, wrong
    # every coefficient R estimated is compared, and the constant covariate is not estimable in both
    assert len(pairs) > 100
    for endpoint in ("pfs", "os"):
        for name in _constant(R_MODELS[key]["cox"][endpoint]):
            term = next(t for t in results.cox[endpoint].terms if t.key == R_TERMS[name])
            assert term.coef is None and "constant" in (term.reason or "")


def test_the_model_states_its_events_per_variable(demo):
    key, results = demo
    for endpoint in ("pfs", "os"):
        cox = results.cox[endpoint]
        # as specified: every covariate term of the profile present in the data and the two severity terms
        n_terms = len(R_MODELS[key]["cox"][endpoint]["coef"]) + len(_constant(R_MODELS[key]["cox"][endpoint]))
        assert cox.n_coefficients == n_terms
        assert cox.events_per_variable == pytest.approx(R_MODELS[key]["cox"][endpoint]["events"] / n_terms)
    assert results.model.covariates == tuple(c for c in results.profile.covariates)
    assert results.covariates_unavailable == ()


def test_a_covariate_without_values_is_left_out_and_said(tmp_path):
    """A registry that does not collect bulky disease: the model adjusts for the rest and says which is missing."""
    lines = (ROOT / "data" / "lbcl" / "cohort.csv").read_text(encoding="utf-8").splitlines()[1:]
    header = lines[0].split(",")
    i = header.index("bulky_disease")
    path = tmp_path / "cohort.csv"
    path.write_text("\n".join(",".join(c for j, c in enumerate(x.split(",")) if j != i) for x in lines) + "\n")
    results = compute_disease_results(load_study(path, cutoff="2017-08-11", disease="lbcl"))
    assert "bulky_disease" not in results.model.covariates and results.covariates_unavailable == ("bulky_disease",)
    assert "bulky_disease" not in {t.key for t in results.cox["pfs"].terms}


def test_the_lymphoma_model_does_not_adjust_for_the_ipi_twice():
    """The IPI is a score of age, ECOG, stage and LDH: the default model adjusts for those one by
    one and not for the IPI, which stays in Table 1; Methods says why."""
    from analysis.registry.diseases import disease

    lbcl = disease("lbcl")
    assert {"age", "ecog", "ann_arbor_stage", "ldh_elevated"} <= set(lbcl.covariates)
    assert "ipi" not in lbcl.covariates
    assert "ipi" in [c for c, _, _ in lbcl.baseline_table1]
    assert "IPI" in lbcl.methods["model"] and "twice" in lbcl.methods["model"]


def test_pvalue_families_of_the_disease_report(demo):
    key, results = demo
    table = results.pvalues
    families = {f.key: f for f in table.families}
    assert set(families) == {
        "efficacy_by_toxicity",
        "baseline",
        "multivariable",
        "model_checks",
        "landmark",
        "progression",
        "landmark_models",
    }
    # the family of efficacy by toxicity counts the tests that exist: the ordinal tests, the
    # responder rates and the log-rank tests of each grouping (five groupings)
    profile = results.profile
    responders = [r for r in profile.responders if (r.key, profile.primary_assessment, "all") in results.rates]
    expected = 5 * (len(profile.assessments) * (1 + len(responders)) + len(profile.endpoints))
    assert families["efficacy_by_toxicity"].n == expected
    assert families["landmark"].n == 4 and families["landmark_models"].n == 2  # joint tests only
    # Holm within the family, by hand: the smallest p times the family's size
    rows = [r for r in table.rows if r.family == "baseline"]
    smallest = min(rows, key=lambda r: r.p)
    assert smallest.p_holm == pytest.approx(min(1.0, smallest.p * len(rows)))


def test_without_mrd_the_myeloma_families_count_no_mrd_comparison(tmp_path):
    """MRD not collected: no MRD-negative ≥CR comparison exists, and no family counts one."""
    lines = (ROOT / "data" / "mm" / "cohort.csv").read_text(encoding="utf-8").splitlines()[1:]
    header = lines[0].split(",")
    i = header.index("mrd_negative")
    path = tmp_path / "cohort.csv"
    path.write_text("\n".join(",".join(c for j, c in enumerate(x.split(",")) if j != i) for x in lines) + "\n")
    results = compute_disease_results(load_study(path, cutoff="2020-10-16", disease="mm"))
    assert "mrd_negative" in results.not_collected
    assert not any(r.path.startswith("rates/mrd_cr") for r in results.pvalues.rows)
    family = results.pvalues.family("efficacy_by_toxicity")
    assert family.n == 5 * (1 * (1 + 3) + 3)  # best response: ordinal test + ORR, >=VGPR, >=CR; PFS, DoR, OS


def test_without_mrd_the_b_all_families_count_no_mrd_comparison():
    """B-ALL with MRD not collected: the p-value table's families and the prose's families of
    tests count CR, OS, LFS and EFS only; with MRD collected, MRD-negative CR adds one test per grouping."""
    from conftest import COHORT, KINETICS, report_parameter

    from analysis.report.narrative import Narrative
    from analysis.report.results import compute_results

    cutoff = report_parameter("cutoff")
    full = compute_results(load_study(COHORT, KINETICS, cutoff))
    without = compute_results(load_study(COHORT, KINETICS, cutoff, not_collected=("mrd_negative",)))
    mrd_rows = [r for r in full.pvalues.rows if "mrd_negative_cr" in r.path]
    assert mrd_rows  # collected: MRD-negative CR is compared
    assert not any("mrd_negative_cr" in r.path for r in without.pvalues.rows)
    assert without.pvalues.n == full.pvalues.n - len(mrd_rows)
    six = 6  # the toxicity groupings: CRS, ICANS, concurrent, CRS grade, ICANS grade, severity
    assert full.pvalues.family("efficacy_by_toxicity").n == 5 * six  # CR, MRD-negative CR, OS, LFS, EFS
    assert without.pvalues.family("efficacy_by_toxicity").n == 4 * six
    text, text_full = Narrative(without), Narrative(full)
    assert (text_full.main_tests.n, text.main_tests.n) == (5 * six, 4 * six)
    assert (text_full.grade_tests.n, text.grade_tests.n) == (10, 8)
    assert text.treatment_tests.n == text_full.treatment_tests.n - 2


#: ``tests/reference/r_disease_covariates.R``: the LBCL demo's model with the covariates a study
#: file names (``analysis: covariates: [age, ldh_elevated]``), from the raw CSV (PFS and the
#: severity group built in R, ldh_elevated as "yes" -> TRUE):
#:     fit <- coxph(Surv(pfs_months, pfs_event) ~ severity + age + ldh_elevated, data = d, ties = "efron")
#:     exp(coef(fit)); summary(fit)$conf.int[, c("lower .95", "upper .95")]; summary(fit)$coefficients[, "Pr(>|z|)"]
R_PLANNED = {
    "n": 101,
    "events": 60,
    "hr": {
        "severitysevere": 0.94525380115912,
        "severityother": 1.0428915576528,
        "age": 1.007689565162,
        "ldh_elevatedTRUE": 0.96112497701046,
    },
    "lower": {
        "severitysevere": 0.28029028329031,
        "severityother": 0.32118979867615,
        "age": 0.98414213254945,
        "ldh_elevatedTRUE": 0.56765899794743,
    },
    "upper": {
        "severitysevere": 3.1877835296927,
        "severityother": 3.386230837674,
        "age": 1.031800413936,
        "ldh_elevatedTRUE": 1.6273171477481,
    },
    "p": {
        "severitysevere": 0.92767076883962,
        "severityother": 0.9442797737707,
        "age": 0.52545649605703,
        "ldh_elevatedTRUE": 0.88267274848412,
    },
}
R_PLANNED_TERMS = {
    "severitysevere": "severity_ge3",
    "severityother": "severity_other",
    "age": "age",
    "ldh_elevatedTRUE": "ldh_elevated",
}


def _study_file(tmp_path, text: str) -> Path:
    path = tmp_path / "study.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_study_files_covariates_make_the_disease_model(tmp_path):
    """``analysis: covariates`` of an LBCL study file: the model has exactly those terms (and the
    severity group), agrees with R, and Methods names them and says they are the plan's."""
    from analysis.report.disease_results import disease_plan
    from analysis.report.narrative.disease import DiseaseNarrative

    path = _study_file(tmp_path, "disease: lbcl\nanalysis:\n  covariates: [age, ldh_elevated]\n")
    settings = resolve_study(path, base=ROOT)
    assert settings.disease == "lbcl" and disease_plan(settings.analysis)["covariates"] == ("age", "ldh_elevated")
    results = compute_disease_results(load_settings(settings), **disease_plan(settings.analysis))
    assert results.model.covariates == ("age", "ldh_elevated") and results.covariates_planned
    assert results.covariates_unavailable == ()
    for endpoint in ("pfs", "os"):
        keys = {t.key for t in results.cox[endpoint].terms}
        assert keys == {"age", "ldh_elevated", "severity_ge3", "severity_other"}, keys
        assert results.cox[endpoint].n_coefficients == 4
    # the landmark model refits the same model
    assert {t.key for t in results.landmark_models[("pfs", 30)].cox.terms} == keys
    cox = results.cox["pfs"]
    assert (cox.n, cox.events) == (R_PLANNED["n"], R_PLANNED["events"])
    terms = {t.key: t for t in cox.terms}
    for r_name, key in R_PLANNED_TERMS.items():
        t = terms[key]
        for ours, what in ((t.hr, "hr"), (t.ci_low, "lower"), (t.ci_high, "upper"), (t.p, "p")):
            assert _close(ours, R_PLANNED[what][r_name]), (key, what, ours, R_PLANNED[what][r_name])
    # Methods: the covariates named by the one phrase machinery, and why they are these
    text = DiseaseNarrative(results, settings)
    assert text.confounders == text.model_covariates == "age (per year) and elevated LDH"
    assert text.covariates_planned


def test_without_covariates_the_disease_model_keeps_the_profiles_own(tmp_path):
    from analysis.report.disease_results import disease_plan

    path = _study_file(tmp_path, "disease: lbcl\nanalysis:\n  alpha: 0.05\n")
    settings = resolve_study(path, base=ROOT)
    assert "covariates" not in disease_plan(settings.analysis)  # not B-ALL's default list
    results = compute_disease_results(load_settings(settings), **disease_plan(settings.analysis))
    assert results.model.covariates == results.profile.covariates and not results.covariates_planned


def test_a_covariate_outside_the_profiles_contract_is_an_error_listing_its_columns(tmp_path):
    from analysis.inputs.studyfile import StudyFileError
    from analysis.registry.diseases import covariate_columns, disease

    mm = covariate_columns("mm")
    assert {"r_iss", "high_risk_cytogenetics", "triple_class_refractory", "age", "prior_lines"} <= set(mm)
    assert "ann_arbor_stage" not in mm and "bm_blasts_pct" not in mm
    path = _study_file(tmp_path, "disease: mm\nanalysis:\n  covariates: [age, ann_arbor_stage]\n")
    with pytest.raises(StudyFileError) as err:
        resolve_study(path, base=ROOT)
    message = str(err.value)
    assert "analysis.covariates" in message and "'ann_arbor_stage'" in message and "disease: mm" in message
    assert f"the valid ones for disease: mm are: {', '.join(mm)} (line 3)" in message
    # an LBCL column is valid for LBCL, and a B-ALL one is not
    resolve_study(_study_file(tmp_path, "disease: lbcl\nanalysis:\n  covariates: [ann_arbor_stage]\n"), base=ROOT)
    with pytest.raises(StudyFileError, match="'bm_blasts_pct'.*for disease: lbcl"):
        resolve_study(_study_file(tmp_path, "disease: lbcl\nanalysis:\n  covariates: [bm_blasts_pct]\n"), base=ROOT)
    # the disease argument choosing another profile than the study file's: checked against its columns
    lbcl = _study_file(tmp_path, "disease: lbcl\nanalysis:\n  covariates: [ann_arbor_stage]\n")
    with pytest.raises(StudyFileError, match="'ann_arbor_stage'.*for disease: mm"):
        resolve_study(lbcl, base=ROOT, disease="mm")
    # and the library itself, called with another profile's column
    study = load_study(ROOT / "data" / "mm" / "cohort.csv", cutoff="2020-10-16", disease="mm")
    with pytest.raises(ValueError, match=f"'ann_arbor_stage' for disease: mm; the valid ones are: {', '.join(mm)}"):
        compute_disease_results(study, covariates=["age", "ann_arbor_stage"])
    assert disease("mm").covariates == tuple(c for c in disease("mm").covariates if c in mm)


def test_a_landmark_no_patient_reaches_is_worded_with_its_reason(tmp_path):
    """Attack 29/10: an LBCL cohort in which everyone progressed on day 20 has no patient at the
    day-30 PFS landmark; the landmark model is None and the narrative crashed on it
    (AttributeError: 'NoneType' object has no attribute 'severity_global_p'), the render failed.
    The model carries the reason; the sentence says it."""
    import pandas as pd

    from analysis.report.narrative.disease import DiseaseNarrative

    df = pd.read_csv(ROOT / "data" / "lbcl" / "cohort.csv", comment="#", dtype=str, keep_default_na=False)
    infused = pd.to_datetime(df["infusion_date"])
    day20 = infused + pd.Timedelta(days=20)
    df["response_day30"], df["response_day90"], df["best_response"], df["response_date"] = "PD", "", "PD", ""
    df["progression_date"] = day20.dt.strftime("%Y-%m-%d")
    death = pd.to_datetime(df["death_date"].replace("", None))
    df["death_date"] = [max(d, p).strftime("%Y-%m-%d") if pd.notna(d) else "" for d, p in zip(death, day20)]
    last = pd.to_datetime(df["last_followup_date"])
    df["last_followup_date"] = [max(a, b).strftime("%Y-%m-%d") for a, b in zip(last, day20)]
    dead = df["death_date"].ne("")
    df.loc[dead, "last_followup_date"] = df.loc[dead, "death_date"]
    path = tmp_path / "all_progressed.csv"
    df.to_csv(path, index=False)
    results = compute_disease_results(load_study(path, cutoff="2017-08-11", disease="lbcl"))
    day = results.landmark_day
    model = results.landmark_models[("pfs", day)]
    assert model.cox is None and model.n_event_before == len(df) == 101
    assert model.reason == f"no patient alive and event-free after day {day}"
    text = DiseaseNarrative(results)
    assert text.exposure_verdict("pfs", at=day) == "could not be tested"
    assert text.exposure_p("pfs", at=day) == f"not estimable (no patient alive and event-free after day {day})"
    assert text.exposure_hrs("pfs", at=day) == f"HR not estimable (no patient alive and event-free after day {day})"
    assert text.exposure_verdict("os", at=day) != "could not be tested"  # OS has patients after the landmark
    assert "Overall survival" in text.landmark_model_table().markdown  # the OS model alone
