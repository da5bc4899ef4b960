"""The multivariable Cox model, the landmark analysis and Table 1 by toxicity group of the
LBCL and MM reports (issue 24) against R, and the families of their p-values.

R reference values: ``tests/reference/r_disease_models.R`` reads the raw bundled demos
(data/lbcl/cohort.csv, data/mm/cohort.csv), builds PFS (progression or death) and OS from the
dates, the CRS/ICANS severity group, the covariates at the profile's cut-offs and the landmark
subsets itself, and prints what these calls return (R 4.x, survival 3.x); :data:`R_MODELS` is
its output as printed:

    cox[endpoint]  fit <- coxph(Surv(months, event) ~ <covariates> + sev, ties = "efron")
                   # LBCL: age + ecog + stage3 (ann_arbor_stage >= 3) + ldh + bulky + ipi + lines (+ bridging:
                   #   constant in the demo, NA in R, left out of the formula: `constant`)
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
                    "age": 0.011435569684938,
                    "ecog": 0.44650567719975,
                    "stage3TRUE": 0.6500692300167,
                    "ldhTRUE": -0.024258926498372,
                    "bulkyTRUE": 0.51170782485936,
                    "ipi": 0.091862860604901,
                    "lines": 0.025112950494415,
                    "sevsevere": 0.014432022101718,
                    "sevother": 0.1477637364139,
                },
                "se": {
                    "age": 0.012225171120547,
                    "ecog": 0.27673178116472,
                    "stage3TRUE": 0.48407950141767,
                    "ldhTRUE": 0.27793573561997,
                    "bulkyTRUE": 0.37308860801152,
                    "ipi": 0.12419551978023,
                    "lines": 0.083412450626119,
                    "sevsevere": 0.65316363347226,
                    "sevother": 0.63016203718,
                },
                "p": {
                    "age": 0.34957610281754,
                    "ecog": 0.10663674826845,
                    "stage3TRUE": 0.179305114052,
                    "ldhTRUE": 0.93044696203509,
                    "bulkyTRUE": 0.17020511729589,
                    "ipi": 0.45950435829098,
                    "lines": 0.76336144607719,
                    "sevsevere": 0.98237172107693,
                    "sevother": 0.81460824145771,
                },
                "joint_chisq": 0.24442355323027,
                "constant": "bridging",
                "zph_chisq": {
                    "age": 0.043916437954833,
                    "ecog": 0.43239303955048,
                    "stage3": 1.9110504213063,
                    "ldh": 0.36907960941155,
                    "bulky": 0.68470238875044,
                    "ipi": 2.0671699750597,
                    "lines": 0.19099188854096,
                    "sev": 0.034135078771763,
                    "GLOBAL": 6.1686593312586,
                },
                "zph_p": {
                    "age": 0.8340091567812,
                    "ecog": 0.51081705041756,
                    "stage3": 0.16684662284196,
                    "ldh": 0.54350638774775,
                    "bulky": 0.40797216119383,
                    "ipi": 0.15050056753733,
                    "lines": 0.66209235638195,
                    "sev": 0.9830772859565,
                    "GLOBAL": 0.72292668059982,
                },
            },
            "os": {
                "n": 101,
                "events": 44,
                "coef": {
                    "age": 0.0076708604067228,
                    "ecog": 0.61825788832738,
                    "stage3TRUE": 0.45963830204233,
                    "ldhTRUE": -0.15502283965863,
                    "bulkyTRUE": 0.78251373547145,
                    "ipi": 0.006240308056843,
                    "lines": 0.070998493807714,
                    "sevsevere": 0.49728739735212,
                    "sevother": 0.34476588101776,
                },
                "se": {
                    "age": 0.014201373566125,
                    "ecog": 0.33326484499198,
                    "stage3TRUE": 0.55181969389581,
                    "ldhTRUE": 0.3216795255601,
                    "bulkyTRUE": 0.40828688723283,
                    "ipi": 0.13800714082439,
                    "lines": 0.094026191871459,
                    "sevsevere": 0.79275816185867,
                    "sevother": 0.7670859537281,
                },
                "p": {
                    "age": 0.58909415084455,
                    "ecog": 0.063574119256836,
                    "stage3TRUE": 0.40487283892953,
                    "ldhTRUE": 0.62986489200884,
                    "bulkyTRUE": 0.055291543443884,
                    "ipi": 0.9639341178384,
                    "lines": 0.45019334561993,
                    "sevsevere": 0.53047070317882,
                    "sevother": 0.65310791632918,
                },
                "joint_chisq": 0.48156239717484,
                "constant": "bridging",
                "zph_chisq": {
                    "age": 6.2032782091845,
                    "ecog": 0.090961713395295,
                    "stage3": 2.7111468113256,
                    "ldh": 0.046610363732051,
                    "bulky": 0.12763694029281,
                    "ipi": 1.8978163466849,
                    "lines": 0.060521195365595,
                    "sev": 4.6758939284885,
                    "GLOBAL": 16.1340331849435,
                },
                "zph_p": {
                    "age": 0.012751392520933,
                    "ecog": 0.76295807805241,
                    "stage3": 0.09964933129858,
                    "ldh": 0.82907011326784,
                    "bulky": 0.7208948329933,
                    "ipi": 0.16832294309213,
                    "lines": 0.80567405839488,
                    "sev": 0.096525605463414,
                    "GLOBAL": 0.064134834807265,
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
                    "age": 0.0082240602678428,
                    "ecog": 0.45717266743905,
                    "stage3TRUE": 0.47868128051368,
                    "ldhTRUE": -0.036603630988675,
                    "bulkyTRUE": 0.19569156111005,
                    "ipi": 0.012149504485339,
                    "lines": -0.015030000123251,
                    "sevsevere": -0.26612259570623,
                    "sevother": -0.081222270408343,
                },
                "se": {
                    "age": 0.013035820797826,
                    "ecog": 0.29513363263792,
                    "stage3TRUE": 0.4906804648803,
                    "ldhTRUE": 0.29697843830338,
                    "bulkyTRUE": 0.44585712411334,
                    "ipi": 0.1328671724968,
                    "lines": 0.08921688213438,
                    "sevsevere": 0.65864681505486,
                    "sevother": 0.63328377117611,
                },
                "p": {
                    "age": 0.52811790418414,
                    "ecog": 0.12137302907126,
                    "stage3TRUE": 0.32928958075708,
                    "ldhTRUE": 0.90190636416535,
                    "bulkyTRUE": 0.66072608296491,
                    "ipi": 0.92714220065955,
                    "lines": 0.86621678767387,
                    "sevsevere": 0.68618002663456,
                    "sevother": 0.89794660048006,
                },
                "joint_chisq": 0.40969535091358,
                "constant": "bridging",
            },
            "os": {
                "n": 100,
                "events": 43,
                "coef": {
                    "age": 0.0051330411323089,
                    "ecog": 0.69152844571153,
                    "stage3TRUE": 0.41016320786677,
                    "ldhTRUE": -0.12730842218501,
                    "bulkyTRUE": 0.64566474031109,
                    "ipi": -0.010859293588245,
                    "lines": 0.077257802782739,
                    "sevsevere": 0.40976918891372,
                    "sevother": 0.33732258483668,
                },
                "se": {
                    "age": 0.014200705173221,
                    "ecog": 0.34067294585627,
                    "stage3TRUE": 0.55531334774221,
                    "ldhTRUE": 0.32501410455945,
                    "bulkyTRUE": 0.43300251909116,
                    "ipi": 0.14012205489519,
                    "lines": 0.09397197210828,
                    "sevsevere": 0.79676917918755,
                    "sevother": 0.76832947707618,
                },
                "p": {
                    "age": 0.71775274702434,
                    "ecog": 0.042367769647834,
                    "stage3TRUE": 0.4601403324307,
                    "ldhTRUE": 0.69527898642588,
                    "bulkyTRUE": 0.13592634039078,
                    "ipi": 0.93822673178446,
                    "lines": 0.41099912598103,
                    "sevsevere": 0.60705033327215,
                    "sevother": 0.6606370691349,
                },
                "joint_chisq": 0.26905335704964,
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
    """A registry that does not collect the IPI: the model adjusts for the rest and says which is missing."""
    lines = (ROOT / "data" / "lbcl" / "cohort.csv").read_text(encoding="utf-8").splitlines()[1:]
    header = lines[0].split(",")
    i = header.index("ipi")
    path = tmp_path / "cohort.csv"
    path.write_text("\n".join(",".join(c for j, c in enumerate(x.split(",")) if j != i) for x in lines) + "\n")
    results = compute_disease_results(load_study(path, cutoff="2017-08-11", disease="lbcl"))
    assert "ipi" not in results.model.covariates and results.covariates_unavailable == ("ipi",)
    assert "ipi" not in {t.key for t in results.cox["pfs"].terms}


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
