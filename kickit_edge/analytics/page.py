"""Adoption as one self-contained HTML page: a chart of version share and volume per day, and a table per group.

No script, no font, no stylesheet or image from elsewhere: the CSS is inline
and each chart is an inline SVG of 100% stacked columns, one per day, so the
page opens offline and can be attached to a ticket. Every text from the events
(app ids, versions and environments are what clients sent) is escaped.

The chart names up to :data:`SERIES` versions of a group, newest first, and
puts the rest together as "other versions" (older ones, and those that cannot
be ordered), so its colors stay few enough to tell apart. Below the shares, a
band of bars gives each day's number of users, so a day of few users does not
look like a day of many. With a snapshot, each version in the table carries
the verdict the snapshot gives it, and the page opens with whether its prompts
worked (:mod:`.conversion`): of the users it prompted or forced, how many
moved to a version it no longer prompts, within each horizon. The chart scales
down to a phone's width and the tables scroll sideways rather than overflow.
"""

from __future__ import annotations

from html import escape

from .adoption import Adoption, Group, newest_first
from .conversion import Conversion
from ..errors import counted
from .report import group_title, instant_text, verdict_text

__all__ = ["SERIES", "render_adoption_html"]

SERIES = 8
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7")
OTHER_COLOR = "#bab0ac"

_HEIGHT = 250
_TOP, _LEFT, _BOTTOM = 10, 44, 84
_VOLUME = 40  # the band of users per day, under the day labels
_STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
p.sub { color: #555; margin: 0 0 16px; }
section { border-top: 1px solid #ddd; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 6px 0 10px; font-size: 13px; }
.legend span::before { content: ""; display: inline-block; width: 11px; height: 11px; margin-right: 5px;
  vertical-align: -1px; background: var(--c); }
table { border-collapse: collapse; font-size: 13px; }
th, td { padding: 3px 10px; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th { border-bottom: 1px solid #ccc; }
svg text { font: 11px system-ui, sans-serif; fill: #555; }
svg { max-width: 100%; height: auto; }
.scroll { overflow-x: auto; }
.verdict { font-size: 12px; padding: 0 6px; border-radius: 8px; }
.v-hard { background: #f8d7da; color: #842029; } .v-soft { background: #fff3cd; color: #664d03; }
@media (max-width: 600px) { body { margin: 10px; font-size: 13px; } th, td { padding: 3px 6px; } }
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
    parts += _volume(group, step, bar)
    parts.append("</svg>")
    legend = "".join(f'<span style="--c:{colors[v]}">{escape(v)}</span>' for v in seen if v in colors)
    if len(colors) < len(seen):
        legend += f'<span style="--c:{OTHER_COLOR}">other versions</span>'
    return f'<div class="legend">{legend}</div>' + "".join(parts)


def _volume(group: Group, step: int, bar: int) -> list[str]:
    """Bars of each day's users, under the day labels, scaled to the busiest day."""
    most = max((day.users for day in group.days), default=0)
    base = _HEIGHT - 6
    parts = [f'<text x="{_LEFT - 8}" y="{base - _VOLUME + 10}" text-anchor="end">{most:,}</text>'
             f'<text x="{_LEFT - 8}" y="{base}" text-anchor="end">users</text>']
    for i, day in enumerate(group.days):
        if not day.users:
            continue
        h = _VOLUME * day.users / most
        parts.append(f'<rect x="{_LEFT + i * step}" y="{base - h:.2f}" width="{bar}" height="{h:.2f}" '
                     f'fill="#8c8c8c"><title>{escape(day.day)}: {day.users:,} users</title></rect>')
    return parts


def _verdict(verdict: str | None) -> str:
    if verdict is None:
        return ""
    return f'<td><span class="verdict v-{escape(verdict)}">{escape(verdict_text(verdict))}</span></td>'


def _table(group: Group) -> str:
    judged = any(v.verdict is not None for v in group.versions)
    rows = "".join(f"<tr><td>{escape(v.app_version)}</td><td class=n>{v.users:,}</td>"
                   f"<td class=n>{v.share:.1%}</td>{_verdict(v.verdict)}</tr>" for v in group.versions)
    head = "<tr><th>Version</th><th>Users</th><th>Share</th>" + ("<th>Verdict</th>" if judged else "") + "</tr>"
    return f'<div class="scroll"><table>{head}{rows}</table></div>'


def _conversion(conversion: Conversion) -> list[str]:
    """The section on whether the snapshot's prompts worked: a row per app, platform and verdict."""
    out = [f"<section><h2>Did the prompt work? Snapshot {escape(conversion.snapshot.id)}</h2>",
           '<p class="sub">Users the snapshot prompted (soft) or forced (hard), and how many later '
           "authenticated on a version it no longer prompts, within each horizon of their first prompt.</p>"]
    if not conversion.rows:
        return [*out, "<p>No prompted users in this window.</p></section>"]
    head = ("<tr><th>App</th><th>Platform</th><th>Verdict</th><th>Prompted</th>"
            + "".join(f"<th>&le;&nbsp;{h}&nbsp;d</th>" for h in conversion.horizons) + "</tr>")
    rows = "".join(
        f"<tr><td>{escape(r.app)}</td><td>{escape(r.platform)}</td>{_verdict(r.verdict)}"
        f"<td class=n>{r.prompted:,}</td>"
        + "".join(f"<td class=n>{r.converted[h]:,} ({r.converted[h] / r.prompted:.0%})</td>"
                  for h in conversion.horizons) + "</tr>" for r in conversion.rows)
    return [*out, f'<div class="scroll"><table>{head}{rows}</table></div></section>']


def render_adoption_html(adoption: Adoption, conversion: Conversion | None = None) -> str:
    title = "Version adoption"
    out = ["<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{title}</title><style>{_STYLE}</style></head><body>",
           f"<h1>{title}</h1>",
           f'<p class="sub">Active users from {escape(instant_text(adoption.since))} to '
           f"{escape(instant_text(adoption.until))}: {adoption.users:,}, each counted once per app and platform "
           "under the version of their latest authentication. The chart shows, for each day, the share of "
           "that day's users on each version, and below it how many users that day had.</p>"]
    if conversion is not None:
        out += _conversion(conversion)
    if not adoption.groups:
        out.append("<p>No authentications in this window.</p>")
    for group in adoption.groups:
        heading = escape(group_title(group.app, group.platform, group.environment).replace("  ", " · "))
        out += [f"<section><h2>{heading}: {counted(group.users, 'active user')}</h2>", _chart(group), _table(group),
                "</section>"]
    out.append("</body></html>")
    return "\n".join(out) + "\n"
