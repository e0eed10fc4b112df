"""A request the user can fix: answered with a 4xx JSON body naming each field and its problem."""

from __future__ import annotations


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
        return {"detail": [{"field": field, "problem": problem}
                           for field, problem in self.problems]}
