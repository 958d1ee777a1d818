"""The analysts' static HTML report: headline numbers and charts from the marts, in one file
that works offline.

Charts are Vega-Lite specs built with Altair and rendered to SVG by vl-convert (which runs
Vega in-process, no network, no browser), then inlined in the page: the report holds no
JavaScript, no external CSS or fonts, and opens anywhere, from a mail attachment too. Every
value goes through Jinja's autoescape; the report reads the marts only, which hold ids and
counts, never names, emails or phone numbers.

Rebuild the marts first (`aftercare.marts.rebuild`); then `build(engine, path)`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import altair as alt
import vl_convert
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy.engine import Engine

from aftercare import warehouse
from aftercare.names import CHANNELS

log = logging.getLogger(__name__)

_env = Environment(
    loader=FileSystemLoader(str(Path(__file__).parent)),
    autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
)

#: queries behind the report (files under sql/)
QUERIES = {
    "headline": "report/headline.sql",
    "funnel": "report/funnel.sql",
    "delivery": "examples/delivery_rate_by_channel.sql",
    "reviews": "report/reviews_by_week.sql",
    "referrals": "examples/referral_conversion_by_month.sql",
    "reasons": "report/reasons.sql",
}

_WIDTH = 520
#: One colour per channel in every chart (the whole domain, so a chart without phone calls
#: does not hand phone's colour to sms).
_CHANNEL_COLOURS = alt.Scale(domain=sorted(CHANNELS), scheme="tableau10")
#: Room around each chart for text wider than Vega measured it: vl-convert measures labels with
#: the fonts it finds, the reader's browser draws them in its own sans-serif (often wider).
_PADDING = {"left": 28, "right": 28, "top": 6, "bottom": 6}


def build(
    engine: Engine | None = None,
    path: str | Path = "report.html",
    run_counts: Mapping[str, int] | None = None,
) -> Path:
    """Write the report to ``path`` (its folder is created) and return the path.

    ``run_counts`` are the numbers of the run that built it (e.g. rows per mart), shown as
    they come: counts only.
    """
    data = numbers(engine)
    charts = [
        _chart("funnel", "Funnel by milestone and channel", data["funnel"], _funnel_chart),
        _chart("delivery", "Delivery rate by channel", data["delivery"], _delivery_chart),
        _chart("reviews", "Reviews per week, with average stars", data["reviews"], _reviews_chart),
        _chart(
            "referrals", "Referrals and conversions per month", data["referrals"], _referrals_chart
        ),
        _chart(
            "reasons",
            "Suppressions and other closings by reason (not what had expired before go-live)",
            data["reasons"],
            _reasons,
        ),
    ]
    html = _env.get_template("report.html.j2").render(
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        headline=data["headline"][0] if data["headline"] else {},
        charts=charts,
        run_counts=dict(run_counts or {}),
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    log.info("report written: %s (%d charts)", path, sum(1 for c in charts if c["svg"]))
    return path


def numbers(engine: Engine | None = None) -> dict[str, list[dict[str, Any]]]:
    """The report's numbers: each query's rows (`QUERIES`), with JSON-friendly values."""
    with warehouse.transaction(engine) as conn:
        data = {key: warehouse.query_file(conn, name) for key, name in QUERIES.items()}
    return {key: [_plain(row) for row in rows] for key, rows in data.items()}


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row with JSON-friendly values (dates as ISO text, decimals as floats)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = float(value)
        out[key] = value
    return out


def _chart(key: str, title: str, rows: list[dict[str, Any]], make: Any) -> dict[str, Any]:
    """One figure: its SVG (None when there is no data yet)."""
    svg = _svg(make(rows)) if rows else None
    return {"id": f"chart-{key}", "title": title, "svg": svg}


def _svg(chart: alt.TopLevelMixin) -> Markup:
    """The chart as inline SVG markup (Vega escapes every text it draws)."""
    svg = vl_convert.vegalite_to_svg(chart.properties(padding=_PADDING).to_json())
    return Markup(svg[svg.index("<svg") :])  # noqa: S704 - markup made by Vega, not from input


def _funnel_chart(rows: list[dict[str, Any]]) -> alt.TopLevelMixin:
    stages = [r["stage"] for r in sorted(rows, key=lambda r: r["stage_order"])]
    order = list(dict.fromkeys(stages))
    return (
        alt.Chart(alt.Data(values=rows))
        .mark_bar()
        .encode(
            y=alt.Y("stage:N", sort=order, title=None, axis=alt.Axis(labelLimit=200)),
            x=alt.X("touchpoints:Q", title="touchpoints"),
            color=alt.Color("channel:N", scale=_CHANNEL_COLOURS),
            yOffset=alt.YOffset("channel:N"),
            tooltip=["milestone:N", "channel:N", "stage:N", "touchpoints:Q"],
        )
        .properties(width=220, height=160)
        .facet(facet=alt.Facet("milestone:N", title=None), columns=3)
    )


def _delivery_chart(rows: list[dict[str, Any]]) -> alt.TopLevelMixin:
    return (
        alt.Chart(alt.Data(values=rows))
        .mark_bar()
        .encode(
            x=alt.X("channel:N", title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y(
                "delivery_rate_pct:Q",
                title="delivered, % of sent",
                scale=alt.Scale(domain=[0, 100]),
            ),
            color=alt.Color("channel:N", scale=_CHANNEL_COLOURS, legend=None),
            tooltip=["channel:N", "sent:Q", "delivered:Q", "undelivered:Q", "delivery_rate_pct:Q"],
        )
        .properties(width=_WIDTH // 2, height=200)
    )


def _reviews_chart(rows: list[dict[str, Any]]) -> alt.TopLevelMixin:
    base = alt.Chart(alt.Data(values=rows)).encode(
        x=alt.X("week:O", title="week (Monday)", axis=alt.Axis(labelAngle=0))
    )
    bars = base.mark_bar(opacity=0.7).encode(y=alt.Y("reviews:Q", title="reviews"))
    stars = base.mark_line(point=True, color="#e45756").encode(
        y=alt.Y("average_stars:Q", title="average stars", scale=alt.Scale(domain=[0, 5]))
    )
    return (
        alt.layer(bars, stars).resolve_scale(y="independent").properties(width=_WIDTH, height=220)
    )


def _referrals_chart(rows: list[dict[str, Any]]) -> alt.TopLevelMixin:
    return (
        alt.Chart(alt.Data(values=rows))
        .transform_fold(["referrals", "converted"], as_=["measure", "count"])
        .mark_bar()
        .encode(
            x=alt.X("month:O", title="month", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("count:Q", title="referrals"),
            color=alt.Color("measure:N", sort=["referrals", "converted"]),
            xOffset=alt.XOffset("measure:N", sort=["referrals", "converted"]),
        )
        .properties(width=_WIDTH, height=220)
    )


def _reasons(rows: list[dict[str, Any]]) -> alt.TopLevelMixin:
    return (
        alt.Chart(alt.Data(values=rows))
        .mark_bar()
        .encode(
            y=alt.Y("reason:N", sort="-x", title=None),
            x=alt.X("sum(touchpoints):Q", title="touchpoints"),
            color=alt.Color("status:N"),
        )
        .properties(width=_WIDTH - 120, height=alt.Step(18))
    )
