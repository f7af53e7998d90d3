"""GitHub's JSON answers as the gateway's frozen dataclasses, and protection as a request body."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from provisioning.github.gateway import (
    BranchInfo,
    BranchProtection,
    MembershipInfo,
    MembershipState,
    OrgInfo,
    OrgInvitation,
    PullInfo,
    RefInfo,
    RepoInfo,
    TeamInfo,
    TeamPermission,
    TreeEntry,
    UserInfo,
)

# Role names of the 2022-11-28 answers, in the vocabulary of the team-repo PUT.
_ROLE_TO_PERMISSION: dict[str, TeamPermission] = {
    "read": "pull",
    "pull": "pull",
    "triage": "triage",
    "write": "push",
    "push": "push",
    "maintain": "maintain",
    "admin": "admin",
}
_STRONGEST_FIRST: tuple[TeamPermission, ...] = ("admin", "maintain", "push", "triage", "pull")


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def org(data: Mapping[str, Any]) -> OrgInfo:
    plan = _map(data.get("plan")).get("name")
    return OrgInfo(login=str(data["login"]), id=int(data["id"]), plan=plan and str(plan))


def user(data: Mapping[str, Any]) -> UserInfo:
    return UserInfo(login=str(data["login"]), id=int(data["id"]))


def invitation(data: Mapping[str, Any]) -> OrgInvitation:
    return OrgInvitation(
        id=int(data["id"]),
        login=data.get("login"),
        email=data.get("email"),
        role=str(data.get("role") or "direct_member"),
    )


def repo(data: Mapping[str, Any]) -> RepoInfo:
    topics = data.get("topics")
    return RepoInfo(
        id=int(data["id"]),
        owner=str(_map(data.get("owner")).get("login") or str(data["full_name"]).split("/")[0]),
        name=str(data["name"]),
        full_name=str(data["full_name"]),
        private=bool(data.get("private")),
        description=data.get("description"),
        default_branch=str(data.get("default_branch") or "main"),
        topics=tuple(str(t) for t in topics) if isinstance(topics, list) else None,
        archived=bool(data.get("archived")),
    )


def branch(data: Mapping[str, Any]) -> BranchInfo:
    commit = _map(data.get("commit"))
    tree = _map(_map(commit.get("commit")).get("tree"))
    return BranchInfo(
        name=str(data["name"]),
        head_sha=str(commit["sha"]),
        tree_sha=str(tree["sha"]),
        protected=bool(data.get("protected")),
        head_parents=len(parents) if isinstance(parents := commit.get("parents"), list) else None,
    )


def ref(data: Mapping[str, Any]) -> RefInfo:
    return RefInfo(ref=str(data["ref"]), sha=str(_map(data.get("object"))["sha"]))


def pull(data: Mapping[str, Any]) -> PullInfo:
    head, base = _map(data.get("head")), _map(data.get("base"))
    state = str(data.get("state"))
    body = data.get("body")
    return PullInfo(
        number=int(data["number"]),
        state="open" if state == "open" else "closed",
        title=str(data.get("title") or ""),
        body=body if isinstance(body, str) else None,
        head_ref=str(head["ref"]),
        head_sha=str(head["sha"]),
        base_ref=str(base["ref"]),
        merged=data.get("merged_at") is not None,
        html_url=str(data.get("html_url") or ""),
    )


def tree(data: Mapping[str, Any]) -> list[TreeEntry]:
    entries = data.get("tree")
    return [
        TreeEntry(path=str(e["path"]), mode=str(e["mode"]), type=str(e["type"]), sha=str(e["sha"]))
        for e in (entries if isinstance(entries, list) else [])
    ]


def team(data: Mapping[str, Any]) -> TeamInfo:
    parent = data.get("parent")
    return TeamInfo(
        id=int(data["id"]),
        slug=str(data["slug"]),
        name=str(data["name"]),
        privacy=data.get("privacy"),
        description=data.get("description"),
        parent_id=int(parent["id"]) if isinstance(parent, Mapping) else None,
    )


def membership(data: Mapping[str, Any]) -> MembershipInfo:
    state = str(data.get("state"))
    if state not in ("active", "pending"):
        raise ValueError(f"unexpected team membership state {state!r}")
    return MembershipInfo(state=cast(MembershipState, state), role=str(data.get("role")))


def team_repo_permission(data: Mapping[str, Any]) -> TeamPermission | None:
    """From the repository answer of `GET …/teams/{slug}/repos/{o}/{r}` (repository media type)."""
    role = data.get("role_name")
    if isinstance(role, str) and role in _ROLE_TO_PERMISSION:
        return _ROLE_TO_PERMISSION[role]
    flags = _map(data.get("permissions"))
    return next((p for p in _STRONGEST_FIRST if flags.get(p)), None)


def _enabled(value: Any) -> bool:
    # GET answers `{"enabled": bool}`; tolerate a bare bool too.
    return bool(value.get("enabled")) if isinstance(value, Mapping) else bool(value)


def protection(data: Mapping[str, Any]) -> BranchProtection:
    reviews = data.get("required_pull_request_reviews")
    review = _map(reviews)
    return BranchProtection(
        required_approving_review_count=(
            int(review.get("required_approving_review_count") or 0)
            if isinstance(reviews, Mapping)
            else None
        ),
        dismiss_stale_reviews=bool(review.get("dismiss_stale_reviews")),
        require_code_owner_reviews=bool(review.get("require_code_owner_reviews")),
        require_last_push_approval=bool(review.get("require_last_push_approval")),
        enforce_admins=_enabled(data.get("enforce_admins")),
        allow_force_pushes=_enabled(data.get("allow_force_pushes")),
        allow_deletions=_enabled(data.get("allow_deletions")),
        has_required_status_checks=isinstance(data.get("required_status_checks"), Mapping),
        has_restrictions=isinstance(data.get("restrictions"), Mapping),
    )


def protection_body(p: BranchProtection) -> dict[str, Any]:
    """The PUT body; all four required keys present, the ones we do not manage null (§2.3)."""
    reviews = None
    if p.required_approving_review_count is not None:
        reviews = {
            "required_approving_review_count": p.required_approving_review_count,
            "dismiss_stale_reviews": p.dismiss_stale_reviews,
            "require_code_owner_reviews": p.require_code_owner_reviews,
            "require_last_push_approval": p.require_last_push_approval,
        }
    return {
        "required_status_checks": None,
        "enforce_admins": p.enforce_admins,
        "required_pull_request_reviews": reviews,
        "restrictions": None,
        "allow_force_pushes": p.allow_force_pushes,
        "allow_deletions": p.allow_deletions,
    }
