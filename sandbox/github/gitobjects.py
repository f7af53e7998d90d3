"""Git objects with real SHA-1s (blob, tree, commit), so content addressing behaves like git."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

FILE_MODE = "100644"
TREE_MODE = "040000"


class Person(BaseModel):
    name: str
    email: str
    date: str
    """ISO 8601, as the API takes and gives it."""


class TreeEntry(BaseModel):
    name: str
    mode: str
    type: Literal["blob", "tree", "commit"]
    sha: str


class GitObject(BaseModel):
    """One stored object; exactly one of the payload fields is set, by `type`."""

    type: Literal["blob", "tree", "commit"]
    content_b64: str | None = None
    entries: list[TreeEntry] | None = None
    tree: str | None = None
    parents: list[str] | None = None
    author: Person | None = None
    committer: Person | None = None
    message: str | None = None

    def blob_bytes(self) -> bytes:
        return base64.b64decode(self.content_b64 or "")


def _hash(kind: str, body: bytes) -> str:
    return hashlib.sha1(f"{kind} {len(body)}\0".encode() + body, usedforsecurity=False).hexdigest()


def blob_sha(data: bytes) -> str:
    return _hash("blob", data)


def _tree_sort_key(entry: TreeEntry) -> bytes:
    # git orders tree entries as if directory names ended with "/".
    suffix = "/" if entry.type == "tree" else ""
    return (entry.name + suffix).encode()


def sorted_entries(entries: list[TreeEntry]) -> list[TreeEntry]:
    return sorted(entries, key=_tree_sort_key)


def tree_body(entries: list[TreeEntry]) -> bytes:
    out = b""
    for e in sorted_entries(entries):
        mode = e.mode.lstrip("0")  # git writes "40000" for trees
        out += f"{mode} {e.name}\0".encode() + bytes.fromhex(e.sha)
    return out


def _signature(p: Person) -> str:
    moment = datetime.fromisoformat(p.date.replace("Z", "+00:00"))
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "-" if minutes < 0 else "+"
    tz = f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    return f"{p.name} <{p.email}> {int(moment.timestamp())} {tz}"


def commit_body(obj: GitObject) -> bytes:
    assert obj.author is not None
    assert obj.committer is not None
    lines = [f"tree {obj.tree}"]
    lines += [f"parent {p}" for p in obj.parents or []]
    lines.append(f"author {_signature(obj.author)}")
    lines.append(f"committer {_signature(obj.committer)}")
    return ("\n".join(lines) + "\n\n" + (obj.message or "")).encode()


def object_sha(obj: GitObject) -> str:
    if obj.type == "blob":
        return _hash("blob", obj.blob_bytes())
    if obj.type == "tree":
        return _hash("tree", tree_body(obj.entries or []))
    return _hash("commit", commit_body(obj))


def make_blob(data: bytes) -> GitObject:
    return GitObject(type="blob", content_b64=base64.b64encode(data).decode())


def make_tree(entries: list[TreeEntry]) -> GitObject:
    return GitObject(type="tree", entries=sorted_entries(entries))
