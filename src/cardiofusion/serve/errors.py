"""A request the user can fix: answered with a 4xx JSON body naming each field and its problem.

Bodies are bounded whatever was sent: at most MAX_PROBLEMS entries, field names and problems cut
short, and a value is only ever echoed as a short prefix (`shown`).
"""

from __future__ import annotations

from cardiofusion import quoting

MAX_PROBLEMS = 20
FIELD_CHARS = 64
PROBLEM_CHARS = 600
VALUE_CHARS = 24


class InputError(Exception):
    """One or more (field, problem) pairs and the HTTP status that fits them."""

    def __init__(self, problems: list[tuple[str | None, str]], status: int = 422) -> None:
        super().__init__("; ".join(f"{field}: {problem}" for field, problem in problems))
        self.problems = problems
        self.status = status

    @classmethod
    def one(cls, field: str | None, problem: str, status: int = 422) -> InputError:
        return cls([(field, problem)], status)

    def body(self) -> dict[str, object]:
        listed = [{"field": None if field is None else _cut(field, FIELD_CHARS),
                   "problem": _cut(problem, PROBLEM_CHARS)}
                  for field, problem in self.problems[:MAX_PROBLEMS]]
        if len(self.problems) > MAX_PROBLEMS:
            listed.append({"field": None, "problem": f"and {len(self.problems) - MAX_PROBLEMS} "
                                                     "more problems"})
        return {"detail": listed}


def shown(value: str) -> str:
    """A value as an error message may quote it: its repr, cut to a short prefix."""
    return quoting.shown(value, VALUE_CHARS)


def _cut(text: str, chars: int) -> str:
    return text if len(text) <= chars else f"{text[: chars - 3]}..."
