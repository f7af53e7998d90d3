"""Drift as people read it in Discord: the course log's message when a reconcile repaired
changes made by hand, and the `/course status` field about the last reconcile."""

from __future__ import annotations

from datetime import datetime

import discord

from cogs.render.status import COLOURS
from cogs.render.text import DESCRIPTION_MAX, FIELD_MAX, TITLE_MAX, clip, lines_within
from provisioning.courses.drift_notices import DriftNotice
from provisioning.courses.drift_report import DriftReport, Repair

FIELD_NAME = "Changes made by hand"


def _when(at: datetime | None) -> str:
    return "" if at is None else at.strftime("%Y-%m-%d %H:%M UTC")


def repair_line(repair: Repair) -> str:
    """`- Discord member Grace (@grace): the role TA was taken away by Ada (@ada) on … ·
    repaired: the role TA given back`."""
    finding = repair.finding
    if finding is None:
        return f"- `{repair.step_key}`: {repair.method} {repair.path}"
    if finding.changed_by:
        who = f" by {finding.changed_by} on {_when(finding.changed_at)}"
    else:
        who = f" (who: {finding.unknown_why})" if finding.unknown_why else ""
    return f"- {finding.resource}: {finding.differed}{who} · repaired: {finding.repaired}"


def report_pointer(course_id: str) -> str:
    return f"The report: the course's page, or `GET /courses/{course_id}/drift`."


def drift_log_embed(notice: DriftNotice) -> discord.Embed:
    """The course log's message for a reconcile that repaired things (and what it could not)."""
    report = notice.report
    repaired = len(report.repairs)
    parts = [notice.title]
    if repaired:
        noun = "change" if repaired == 1 else "changes"
        parts.append(
            f"The check of {_when(report.started_at)} found {repaired} {noun} made by hand "
            "and put the course back as its description says:"
        )
        parts.append(lines_within([repair_line(r) for r in report.repairs], 3000))
    if report.failed:
        parts.append(
            f"{len(report.failed)} step(s) could not be checked or repaired; see /course status."
        )
    parts.append(report_pointer(notice.course_id))
    headline = "Changes made by hand repaired" if repaired else "Changes made by hand"
    embed = discord.Embed(
        title=clip(f"{notice.code} · {notice.term}: {headline}", TITLE_MAX),
        description=clip("\n".join(parts), DESCRIPTION_MAX),
        colour=COLOURS["awaiting_action" if report.failed else "in_progress"],
    )
    embed.set_footer(text=f"Course id {notice.course_id}")
    return embed


def add_drift_field(embed: discord.Embed, report: DriftReport) -> None:
    """The last reconcile on the `/course status` card: when, how many repaired, where the
    report is (nothing before the first one)."""
    if report.started_at is None:
        return
    when = _when(report.started_at)
    if not report.finished:
        value = f"Being checked since {when}."
    elif not report.repairs:
        value = f"Last checked {when}: nothing had been changed by hand."
    else:
        count = len(report.repairs)
        lines = [repair_line(r) for r in report.repairs]
        value = f"Last checked {when}: {count} repaired.\n" + lines_within(lines, 600)
    value += "\n" + report_pointer(report.course_id)
    embed.add_field(name=FIELD_NAME, value=clip(value, FIELD_MAX), inline=False)
