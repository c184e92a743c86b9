"""The dashboards' figures, each an SVG (``efficacy.svg``) built from the data its table shows."""

from django.utils.translation import gettext as _

from visits.models import VisitStatus

from .dashboard import ENDPOINT_LABELS, state_of
from .endpoints import FLAGS
from .svg import Bar, Mark, Row, Series, line_plot, proportion_plot, timeline

STATE_STYLE = {
    # state -> (colour, filled, shape, label)
    "drug_free_doris_strict": ("#009E73", True, "diamond", "drug-free DORIS (strict)"),
    "drug_free_doris_antimalarial_allowed": ("#009E73", True, "circle", "drug-free DORIS"),
    "doris": ("#0072B2", True, "circle", "DORIS"),
    "lldas": ("#56B4E9", True, "square", "LLDAS"),
    "none": ("#D55E00", False, "circle", "none of these"),
    "not_evaluable": ("#777777", False, "triangle", "not evaluable"),
}
GRADE_COLOURS = {1: "#F0E442", 2: "#E69F00", 3: "#D55E00", 4: "#CC79A7", 5: "#000000"}


def _state_legend():
    return [(colour, "", shape, _(label)) for colour, _f, shape, label in STATE_STYLE.values()]


def _visit_ticks(columns):
    return [(day, code) for code, day in columns]


# --- study ------------------------------------------------------------------------------------------


def proportion_figures(summary) -> list[dict]:
    codes = [code for code, _day in summary["columns"]]
    figures = []
    for flag in FLAGS:
        series = []
        for group, label in summary["groups"]:
            cells = summary["proportions"][flag][group]
            values = [
                (cells[c]["p"], cells[c]["lower"], cells[c]["upper"]) if cells[c]["N"] else None
                for c in codes
            ]
            series.append((label, values))
        title = _("%(endpoint)s: proportion of participants at each visit") % {
            "endpoint": ENDPOINT_LABELS[flag]
        }
        desc = _(
            "Proportion (n/N) with its 95 % Wilson interval, overall and by dose level; the table gives n/N."
        )
        figures.append(
            {
                "flag": flag,
                "label": ENDPOINT_LABELS[flag],
                "svg": proportion_plot(title, desc, codes, series, y_label=_("proportion")),
                "rows": [
                    (
                        code,
                        [
                            (label, summary["proportions"][flag][group][code])
                            for group, label in summary["groups"]
                        ],
                    )
                    for code in codes
                ],
            }
        )
    return figures


def sledai_change_figure(summary):
    series = []
    for group, label in summary["groups"]:
        cells = summary["sledai_change"][group]
        series.append(Series(label, [(day, cells[code]["mean"]) for code, day in summary["columns"]]))
    return line_plot(
        _("Mean change in SLEDAI-2K from baseline"),
        _(
            "Mean change from baseline at each follow-up visit, overall and by dose level "
            "(negative: improvement)."
        ),
        series,
        x_label=_("study day"),
        y_label=_("mean change in SLEDAI-2K"),
        x_ticks=_visit_ticks(summary["columns"]),
        y_min=min([0, *(v for s in series for _x, v in s.points if v is not None)]),
        y_max=max([0, *(v for s in series for _x, v in s.points if v is not None)]) + 1,
    )


def swimmer_figure(summary):
    rows = []
    last = max(
        [
            summary["columns"][-1][1] if summary["columns"] else 730,
            *(r["last_day"] for r in summary["swimmer"]),
        ]
    )
    for item in summary["swimmer"]:
        marks = []
        for day, code, state in item["marks"]:
            colour, filled, shape, label = STATE_STYLE[state]
            text = _("%(participant)s %(visit)s (day %(day)s): %(state)s") % {
                "participant": item["label"],
                "visit": code,
                "day": day,
                "state": _(label),
            }
            marks.append(Mark(day, colour, text, filled, shape))
        text = _("%(participant)s: day 0 to %(day)s") % {
            "participant": item["label"],
            "day": item["last_day"],
        }
        bar = Bar(0, item["last_day"], "#dddddd", text)
        rows.append(Row(f"{item['label']} {item['dose_level']}", [bar], marks))
    return timeline(
        _("Remission states of each participant (swimmer plot)"),
        _(
            "One lane per infused participant from Day 0 to the last evaluated visit; each mark is a visit, "
            "coloured by the best state met."
        ),
        rows,
        x_min=0,
        x_max=last,
        x_label=_("study day"),
        legend=_state_legend(),
    )


def enrollment_figure(summary):
    enrollment = summary["enrollment"]
    months = enrollment["months"]
    series = [
        Series(site["code"], list(enumerate(site["counts"])), step=True) for site in enrollment["sites"]
    ]
    step = max(1, -(-len(months) // 6))  # at most six month labels
    return line_plot(
        _("Cumulative enrollment by site"),
        _("Participants enrolled by the end of each month, per site."),
        series,
        x_label=_("month"),
        y_label=_("participants enrolled"),
        x_ticks=[(i, m) for i, m in enumerate(months) if i % step == 0],
        y_min=0,
        x_min=0,
        x_max=max(len(months) - 1, 1),
    )


# --- participant ------------------------------------------------------------------------------------


def participant_timeline(data):
    result = data["endpoints"]
    visits = [v for v in data["visits"] if v["day"] is not None]
    days = [v["day"] for v in visits] + [e["end_day"] for e in data["adverse_events"]]
    x_min = min([-30, *days])
    x_max = max([30, data["today_day"], *(v["target_day"] or 0 for v in visits)])
    status_colour = {"done": "#0072B2", "missed": "#D55E00", "overdue": "#D55E00"}
    visit_row = Row(
        _("Visits"),
        marks=[
            Mark(
                v["day"],
                status_colour.get(v["status"], "#999999"),
                f"{v['code']} {v['name']} ({VisitStatus(v['status']).label})",
                v["status"] == "done",
                "square" if v["status"] != "done" else "circle",
            )
            for v in visits
        ],
    )
    rows = [visit_row]
    for event in data["adverse_events"]:
        colour = GRADE_COLOURS.get(event["grade"] or 1, "#999999")
        text = _("%(term)s, grade %(grade)s, day %(start)s to %(end)s") % {
            "term": event["label"],
            "grade": event["grade"] or "?",
            "start": event["start_day"],
            "end": _("ongoing") if event["ongoing"] else event["end_day"],
        }
        label = (
            "CRS"
            if event["term"] == "cytokine_release_syndrome"
            else "ICANS"
            if event["term"] == "icans"
            else (str(event["label"])[:18])
        )
        rows.append(
            Row(
                f"AE {event['number']} {label}",
                [Bar(event["start_day"], event["end_day"] + 0.8, colour, text)],
            )
        )
    state_row = Row(_("Remission state"))
    for row in result.follow_up:
        colour, filled, shape, label = STATE_STYLE[state_of(row)]
        day = row.study_day if row.study_day is not None else row.target_day
        state_row.marks.append(Mark(day, colour, f"{row.code}: {_(label)}", filled, shape))
    rows.append(state_row)
    vlines = [(0, _("Day 0"))] if result.participant.infusion_date else []
    if result.participant.lymphodepletion_start_date and result.participant.infusion_date:
        vlines.append(
            ((result.participant.lymphodepletion_start_date - result.participant.infusion_date).days, _("LD"))
        )
    return timeline(
        _("Timeline from screening to Month 24"),
        _(
            "Visits, adverse events as bars from onset to resolution (colour by maximum grade; CRS and ICANS "
            "first) and the remission state at each evaluated visit."
        ),
        rows,
        x_min=x_min,
        x_max=x_max,
        x_label=_("study day (Day 0 = infusion)"),
        legend=_state_legend(),
        vlines=vlines,
        width=1000,
        row_height=22,
        label_width=170,
    )


def _points(rows):
    return [(r["day"], r["value"]) for r in rows]


def participant_figures(data) -> dict:
    result = data["endpoints"]
    rows = result.rows
    visit_days = [(row.study_day if row.study_day is not None else -5, row) for row in rows]
    sledai = [
        (d, row.values["sledai_2k"].value if row.values["sledai_2k"].evaluable else None)
        for d, row in visit_days
    ]
    pga = [
        (d, float(row.values["pga"].value) if row.values.get("pga") and row.values["pga"].evaluable else None)
        for d, row in visit_days
    ]
    labs = data["labs"]
    day0 = [(0, _("Day 0"))] if result.participant.infusion_date else []
    figures = {
        "timeline": participant_timeline(data),
        "sledai": line_plot(
            _("SLEDAI-2K over time"),
            _("SLEDAI-2K at baseline and each evaluated visit; gaps are visits that are not evaluable."),
            [Series("SLEDAI-2K", sledai)],
            x_label=_("study day"),
            y_label="SLEDAI-2K",
            y_min=0,
            vlines=day0,
        ),
        "pga": line_plot(
            _("Physician global assessment over time"),
            _("PGA (0-3) at baseline and each evaluated visit."),
            [Series("PGA", pga)],
            x_label=_("study day"),
            y_label="PGA (0–3)",
            y_min=0,
            y_max=3,
            vlines=day0,
        ),
        "prednisone": line_plot(
            _("Prednisone-equivalent dose"),
            _(
                "SLE maintenance glucocorticoid dose, prednisone equivalent, held until the next change "
                "(CRS/ICANS treatment and premedication excluded)."
            ),
            [Series(_("prednisone equivalent"), _points(data["prednisone"]), step=True)],
            x_label=_("study day"),
            y_label=_("mg/day"),
            y_min=0,
            vlines=day0,
        ),
        "complement": line_plot(
            _("Complement C3 and C4"),
            _("C3 and C4 (g/L) over time."),
            [Series("C3", _points(labs.get("c3", []))), Series("C4", _points(labs.get("c4", [])))],
            x_label=_("study day"),
            y_label="g/L",
            y_min=0,
            vlines=day0,
        ),
        "anti_dsdna": line_plot(
            _("Anti-dsDNA"),
            _("Anti-dsDNA (IU/mL) over time."),
            [Series("anti-dsDNA", _points(labs.get("anti_dsdna", [])))],
            x_label=_("study day"),
            y_label="IU/mL",
            y_min=0,
            vlines=day0,
        ),
        "cd19": line_plot(
            _("CD19⁺ B cells: depletion and reconstitution (log scale)"),
            _(
                "CD19⁺ B cells per µL on a logarithmic axis; values at or below 0.1/µL sit on the floor as "
                "hollow markers."
            ),
            [Series(_("CD19⁺ B cells"), _points(labs.get("cd19", [])))],
            x_label=_("study day"),
            y_label="cells/µL",
            log_y=True,
            y_min=0.1,
            vlines=day0,
        ),
        "car_t": line_plot(
            _("CAR-T expansion and persistence (log scale)"),
            _("CAR transgene copies per µg gDNA (qPCR) and CAR⁺ cells per µL (flow) on a logarithmic axis."),
            [
                Series(_("CAR transgene (copies/µg gDNA)"), _points(labs.get("car_transgene", []))),
                Series(_("CAR⁺ cells/µL"), _points(labs.get("car_cells", []))),
            ],
            x_label=_("study day"),
            y_label=_("copies/µg gDNA; cells/µL"),
            log_y=True,
            y_min=1,
            vlines=day0,
        ),
        "igg": line_plot(
            _("IgG"),
            _("Serum IgG (g/L) over time."),
            [Series("IgG", _points(labs.get("igg", [])))],
            x_label=_("study day"),
            y_label="g/L",
            y_min=0,
            vlines=day0,
        ),
        "tables": lab_tables(labs),
    }
    return figures


LAB_TABLES = {
    "complement": (("c3", "C3 (g/L)"), ("c4", "C4 (g/L)")),
    "anti_dsdna": (("anti_dsdna", "anti-dsDNA (IU/mL)"),),
    "cd19": (("cd19", "CD19⁺ B cells (cells/µL)"),),
    "car_t": (("car_transgene", "CAR transgene (copies/µg gDNA)"), ("car_cells", "CAR⁺ cells (cells/µL)")),
    "igg": (("igg", "IgG (g/L)"),),
}


def lab_tables(labs) -> dict:
    """The values behind each laboratory plot: one row per collection date."""
    tables = {}
    for key, analytes in LAB_TABLES.items():
        by_date = {}
        for index, (code, _label) in enumerate(analytes):
            for item in labs.get(code, []):
                row = by_date.setdefault(item["date"], [item["date"], item["day"], *[None] * len(analytes)])
                row[2 + index] = f"{item['value']:g}"
        tables[key] = {
            "caption": ", ".join(label for _code, label in analytes),
            "headers": [_("Date"), _("Day"), *(label for _code, label in analytes)],
            "rows": [by_date[d] for d in sorted(by_date)],
        }
    return tables
