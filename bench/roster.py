"""Benchmark: parse a roster CSV of N students and plan the course; prints the figures.

    .venv/bin/python bench/roster.py [--students 5000] [--groups 50] [--repeat 5]

The last line is one JSON object: `students`, `parse_s` (best of the repeats), `plan_s`,
`plan_steps`. Target: a 5,000-row roster parses in well under a second.
"""

from __future__ import annotations

import argparse
import json
import time

from provisioning.courses.spec import parse_course
from provisioning.plan import plan_course
from provisioning.roster import parse_roster


def roster_csv(students: int, groups: list[str]) -> bytes:
    rows = [
        f"Student {i},s{i}@example.edu,student-{i},{10**17 + i},{groups[i % len(groups)]}"
        for i in range(students)
    ]
    return ("name,email,github,discord_id,group\n" + "\n".join(rows) + "\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=5000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    groups = [f"lab-{i:02d}" for i in range(1, args.groups + 1)]
    data = roster_csv(args.students, groups)
    timings = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        students = parse_roster(data, groups=groups)
        timings.append(time.perf_counter() - started)
    course = {
        "code": "CS101",
        "title": "Benchmark",
        "term": "2027-spring",
        "kind": "laboratory",
        "github_org": "demo-university",
        "groups": groups,
        "staff": [{"role": "instructor", "name": "Ada", "github": "ada"}],
        "students": [s.model_dump() for s in students],
    }
    started = time.perf_counter()
    steps = plan_course(parse_course(course))
    plan_s = time.perf_counter() - started
    print(
        f"roster: {args.students} rows, {len(data) / 1e6:.2f} MB, "
        f"best parse {min(timings) * 1000:.0f} ms of {args.repeat}"
    )
    print(f"course validation + plan: {len(steps)} steps in {plan_s * 1000:.0f} ms")
    print(
        json.dumps(
            {
                "students": args.students,
                "parse_s": round(min(timings), 4),
                "plan_s": round(plan_s, 4),
                "plan_steps": len(steps),
            }
        )
    )


if __name__ == "__main__":
    main()
