"""Operations on a repository's object store: flatten and build trees, commit files."""

from __future__ import annotations

from sandbox.github.errors import ApiError, not_found
from sandbox.github.gitobjects import (
    FILE_MODE,
    TREE_MODE,
    GitObject,
    Person,
    TreeEntry,
    make_blob,
    make_tree,
    object_sha,
)
from sandbox.github.models import Repo

FlatTree = dict[str, tuple[str, str, str]]
"""path → (mode, type, sha) for every non-tree entry."""


def store(repo: Repo, obj: GitObject) -> str:
    sha = object_sha(obj)
    repo.objects.setdefault(sha, obj)
    return sha


def get_object(repo: Repo, sha: str, kind: str) -> GitObject:
    obj = repo.objects.get(sha)
    if obj is None or obj.type != kind:
        raise not_found()
    return obj


def flatten(repo: Repo, tree_sha: str, prefix: str = "") -> FlatTree:
    out: FlatTree = {}
    for e in get_object(repo, tree_sha, "tree").entries or []:
        path = prefix + e.name
        if e.type == "tree":
            out.update(flatten(repo, e.sha, path + "/"))
        else:
            out[path] = (e.mode, e.type, e.sha)
    return out


def build(repo: Repo, flat: FlatTree) -> str:
    """Write the nested tree objects for `flat` and return the root tree sha."""
    files: list[TreeEntry] = []
    dirs: dict[str, FlatTree] = {}
    for path, (mode, kind, sha) in flat.items():
        head, sep, rest = path.partition("/")
        if sep:
            dirs.setdefault(head, {})[rest] = (mode, kind, sha)
        else:
            files.append(TreeEntry(name=head, mode=mode, type=kind, sha=sha))
    for name, sub in dirs.items():
        files.append(TreeEntry(name=name, mode=TREE_MODE, type="tree", sha=build(repo, sub)))
    return store(repo, make_tree(files))


def list_entries(repo: Repo, tree_sha: str, recursive: bool) -> list[tuple[str, TreeEntry]]:
    """(path, entry) pairs, depth first like GitHub's `?recursive=1`."""
    out: list[tuple[str, TreeEntry]] = []
    for e in get_object(repo, tree_sha, "tree").entries or []:
        out.append((e.name, e))
        if recursive and e.type == "tree":
            out += [(f"{e.name}/{p}", sub) for p, sub in list_entries(repo, e.sha, True)]
    return out


def head_commit(repo: Repo, branch: str) -> str:
    sha = repo.refs.get(f"refs/heads/{branch}")
    if sha is None:
        raise ApiError(404, "Branch not found")
    return sha


def commit_files(
    repo: Repo, branch: str, files: dict[str, bytes | None], message: str, who: Person
) -> str:
    """Commit `files` (None deletes) on top of `branch` (or as a root commit); returns the sha."""
    parent = repo.refs.get(f"refs/heads/{branch}")
    flat: FlatTree = {}
    if parent is not None:
        flat = flatten(repo, get_object(repo, parent, "commit").tree or "")
    for path, data in files.items():
        if data is None:
            flat.pop(path, None)
        else:
            flat[path] = (FILE_MODE, "blob", store(repo, make_blob(data)))
    tree = build(repo, flat)
    commit = GitObject(
        type="commit",
        tree=tree,
        parents=[parent] if parent else [],
        author=who,
        committer=who,
        message=message,
    )
    sha = store(repo, commit)
    repo.refs[f"refs/heads/{branch}"] = sha
    return sha


def is_ancestor(repo: Repo, ancestor: str, descendant: str) -> bool:
    seen: set[str] = set()
    stack = [descendant]
    while stack:
        sha = stack.pop()
        if sha == ancestor:
            return True
        if sha in seen:
            continue
        seen.add(sha)
        obj = repo.objects.get(sha)
        if obj is not None and obj.type == "commit":
            stack.extend(obj.parents or [])
    return False
