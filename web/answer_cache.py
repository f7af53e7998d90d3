"""Answers rendered once per version: many people polling one course's status between two of
its changes get the same bytes, so the page of steps is read and serialised once, not once per
poll. Entries are keyed by the ETag, which names the course's version and the query; an entry
can never be stale, only unused, and the least recently used go first."""

from __future__ import annotations

from collections import OrderedDict

from provisioning.courses.views import StatusSummary
from provisioning.shared_reads import SharedReads

ENTRIES = 256


class AnswerCache:
    """A bounded map from an ETag to the JSON body it stands for (one per web application),
    and the summaries being read: polls of one course that arrive together share one read
    of its version (`SharedReads`), so a burst of pollers costs the database one query, and
    those that find no answer for the new version render it once."""

    def __init__(self, entries: int = ENTRIES) -> None:
        self._entries = entries
        self._bodies: OrderedDict[str, tuple[str, dict[str, str]]] = OrderedDict()
        self.summaries: SharedReads[StatusSummary] = SharedReads()
        # The answers being rendered, by ETag: those who miss together render once.
        self.pages: SharedReads[tuple[str, dict[str, str]]] = SharedReads()

    def get(self, etag: str) -> tuple[str, dict[str, str]] | None:
        found = self._bodies.get(etag)
        if found is not None:
            self._bodies.move_to_end(etag)
        return found

    def put(self, etag: str, body: str, headers: dict[str, str]) -> None:
        self._bodies[etag] = (body, headers)
        self._bodies.move_to_end(etag)
        while len(self._bodies) > self._entries:
            self._bodies.popitem(last=False)
