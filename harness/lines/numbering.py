"""Numbers and SIM cards of a fleet: numbers drawn at random for a creation, and neither a number
nor a SIM ever given twice (the AlphaLink mobile reference, 'Résiliation d'une ligne': "Cartes SIM &
numéros non réutilisables. Les numéros sont sélectionnés aléatoirement pour une création de ligne.")."""

from __future__ import annotations

import random

from harness.lines.rules import Numbering


class NumberingError(ValueError):
    """A number or SIM that cannot be given (used before, wrong format)."""


class NumberPool:
    """Every number and SIM the fleet ever gave, and a seeded random source for new numbers."""

    def __init__(self, seed: int = 0) -> None:
        self._seed = seed
        self._random: random.Random | None = None  # seeded at the first draw
        self.numbers: set[str] = set()
        self.sims: set[str] = set()

    def draw(self, plan: Numbering) -> str:
        """A number never given before, at random, in the range's format."""
        free = plan.digits - len(plan.prefix)
        if self._random is None:
            self._random = random.Random(self._seed)  # noqa: S311 - replayable draws, not secrets
        for _ in range(1000):
            number = plan.prefix + "".join(str(self._random.randrange(10)) for _ in range(free))
            if number not in self.numbers:
                self.numbers.add(number)
                return number
        raise NumberingError(f"no free number left with prefix {plan.prefix}")

    def take(self, plan: Numbering, number: str) -> str:
        """The partner's chosen ``number``, checked against the format and the fleet's history."""
        if not number.isdigit() or len(number) != plan.digits or not number.startswith(plan.prefix):
            raise NumberingError(f"number {number!r} is not {plan.digits} digits starting {plan.prefix}")
        if number in self.numbers:
            raise NumberingError(f"number {number} was already given: numbers are never reused")
        self.numbers.add(number)
        return number

    def take_sim(self, sim: str) -> str:
        if sim in self.sims:
            raise NumberingError(f"SIM {sim} was already used: SIM cards are never reused")
        self.sims.add(sim)
        return sim
