"""Adoption as one self-contained HTML page: a chart of version share per day and a table per group.

No script, no font, no stylesheet or image from elsewhere: the CSS is inline
and each chart is an inline SVG of 100% stacked columns, one per day, so the
page opens offline and can be attached to a ticket. Every text from the events
(app ids, versions and environments are what clients sent) is escaped.

The chart names up to :data:`SERIES` versions of a group, newest first, and
puts the rest together as "other versions" (older ones, and those that cannot
be ordered), so its colors stay few enough to tell apart.
"""

from __future__ import annotations

from html import escape

from .adoption import Adoption, Group, newest_first
from .report import group_title, instant_text

__all__ = ["SERIES", "render_adoption_html"]

SERIES = 8
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7")
OTHER_COLOR = "#bab0ac"

_HEIGHT = 200
_TOP, _LEFT, _BOTTOM = 10, 44, 34
_STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
p.sub { color: #555; margin: 0 0 16px; }
section { border-top: 1px solid #ddd; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 6px 0 10px; font-size: 13px; }
.legend span::before { content: ""; display: inline-block; width: 11px; height: 11px; margin-right: 5px;
  vertical-align: -1px; background: var(--c); }
table { border-collapse: collapse; font-size: 13px; }
th, td { padding: 3px 10px; text-align: left; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
th { border-bottom: 1px solid #ccc; }
svg text { font: 11px system-ui, sans-serif; fill: #555; }
"""


def _series(group: Group) -> tuple[list[str], dict[str, str]]:
    """Every version of the group, newest first, and the color of each the chart names."""
    seen = newest_first({v.app_version for v in group.versions} | {v for d in group.days for v in d.versions})
    named = seen[:SERIES - 1] if len(seen) > SERIES else seen
    return seen, {v: PALETTE[i % len(PALETTE)] for i, v in enumerate(named)}


def _chart(group: Group) -> str:
    seen, colors = _series(group)
    days = group.days
    step = max(6, min(60, 720 // max(len(days), 1)))
    bar = max(step - 2, 4)
    width = _LEFT + step * len(days) + 10
    plot = _HEIGHT - _TOP - _BOTTOM
    parts = [f'<svg width="{width}" height="{_HEIGHT}" '
             f'viewBox="0 0 {width} {_HEIGHT}" role="img" aria-label="version share per day">']
    for share in (0, 50, 100):
        y = _TOP + plot - plot * share / 100
        parts.append(f'<line x1="{_LEFT - 4}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e3e3"/>'
                     f'<text x="{_LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{share}%</text>')
    label_every = -(-44 // step)  # a label needs about 44 pixels
    for i, day in enumerate(days):
        x = _LEFT + i * step
        if i % label_every == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{_HEIGHT - _BOTTOM + 16}" '
                         f'text-anchor="middle">{escape(day.day[5:])}</text>')
        if not day.users:
            continue
        y = float(_TOP + plot)
        stacks = [(v, n) for v, n in day.versions.items() if v in colors]
        other = day.users - sum(n for _, n in stacks)
        if other:
            stacks.append(("other versions", other))
        for version, n in reversed(stacks):  # oldest at the bottom, newest on top
            h = plot * n / day.users
            y -= h
            color = colors.get(version, OTHER_COLOR)
            parts.append(f'<rect x="{x}" y="{y:.2f}" width="{bar}" height="{h:.2f}" fill="{color}">'
                         f'<title>{escape(day.day)} {escape(version)}: {n:,} of {day.users:,} users '
                         f'({n / day.users:.1%})</title></rect>')
    parts.append("</svg>")
    legend = "".join(f'<span style="--c:{colors[v]}">{escape(v)}</span>' for v in seen if v in colors)
    if len(colors) < len(seen):
        legend += f'<span style="--c:{OTHER_COLOR}">other versions</span>'
    return f'<div class="legend">{legend}</div>' + "".join(parts)


def _table(group: Group) -> str:
    rows = "".join(f"<tr><td>{escape(v.app_version)}</td><td class=n>{v.users:,}</td>"
                   f"<td class=n>{v.share:.1%}</td></tr>" for v in group.versions)
    return f"<table><tr><th>Version</th><th>Users</th><th>Share</th></tr>{rows}</table>"


def render_adoption_html(adoption: Adoption) -> str:
    title = "Version adoption"
    out = ["<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{title}</title><style>{_STYLE}</style></head><body>",
           f"<h1>{title}</h1>",
           f'<p class="sub">Active users from {escape(instant_text(adoption.since))} to '
           f"{escape(instant_text(adoption.until))}: {adoption.users:,}, each counted once per app and platform "
           "under the version of their latest authentication. The chart shows, for each day, the share of "
           "that day's users on each version.</p>"]
    if not adoption.groups:
        out.append("<p>No authentications in this window.</p>")
    for group in adoption.groups:
        heading = escape(group_title(group.app, group.platform, group.environment).replace("  ", " · "))
        out += [f"<section><h2>{heading}: {group.users:,} active users</h2>", _chart(group), _table(group),
                "</section>"]
    out.append("</body></html>")
    return "\n".join(out) + "\n"
