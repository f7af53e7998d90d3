"""How soon a thread holding the GIL hands it to another that waits for it."""

import sys

# CPython's default is 5 ms.
SWITCH_INTERVAL_S = 0.0005


def hand_over_the_gil_often() -> None:
    """Make a thread that holds the GIL hand it over after 0.5 ms, not 5, when another waits.

    The event loop releases the GIL at every `select`; a thread that wants it then (PyGithub's
    sending thread encoding a request or parsing an answer, aiosqlite's thread) takes it and
    keeps it until it blocks or the switch interval passes, while the loop, woken meanwhile,
    waits: the convoy effect, a wait of up to the interval for each of the loop's many short
    wake-ups. Six pairs of `bench/department.py` runs (scale 10, size 0.25; 5 ms, then 0.5 ms,
    one pair the other way round; the machine's speed drifted between pairs): in five the
    Discord steps, which only the loop runs, went faster (median 28.1 to 31.9 steps a second),
    the last laboratory's Discord was done sooner (median 13.2 to 11.4 s after its claim) and
    the wall came nearer its lower bound (median 1.23 to 1.18 times it).
    Process-wide: called once by the process's entry point, never at import.
    """
    sys.setswitchinterval(SWITCH_INTERVAL_S)
