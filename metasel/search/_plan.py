"""From the meta-model's recommendations to a search plan: which learners, in which order,
and which configurations to try first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from metasel.learners import LEARNERS, eligible

#: how many top-ranked learners are probed and warm-started; the study searches these and,
#: when the budget gives time for many trials, the next ones too (see ``Plan.more``)
TOP_LEARNERS = 5
#: how many recommended configurations per learner are enqueued
CONFIGS_PER_LEARNER = 3

Config = tuple[str, dict[str, Any]]


@dataclass
class Plan:
    """Learners to search (best first), warm-start configurations, and probe candidates.

    The first ``n_first`` warm starts are the recommended first trials, chosen as a set.
    ``more``: the other eligible learners, best first, that a long enough budget adds to the
    search (:meth:`widened`): neither probed nor warm-started, TPE alone tries them.
    """

    learners: list[str]
    warm_starts: list[Config] = field(default_factory=list)
    probes: list[Config] = field(default_factory=list)
    prior: dict[str, float] = field(default_factory=dict)
    n_first: int = 0
    more: list[str] = field(default_factory=list)

    def widened(self, n_learners: int) -> list[str]:
        """The learners to search: the top ones, then ``more`` up to ``n_learners`` in all."""
        return self.learners + self.more[:max(0, n_learners - len(self.learners))]

    def reorder(self, ranking: Sequence[str]) -> Plan:
        """Keep only ``ranking``'s learners, in its order (after probes): the first trials
        stay a set, sorted by learner; the other warm starts go round-robin in this order.

        The leading learner always runs first: when the set holds none of its
        configurations, its top one (the one probed) leads it. Otherwise the set's survivors
        ran before the probes' winner (nursery, 5 s: the probes dropped three of the set's
        learners; a gradient boosting whose probe had not finished ran first, ended
        after one fold, and left no time for the winner).
        """
        keep = [name for name in ranking if name in self.learners] or self.learners[:1]
        order = {name: i for i, name in enumerate(keep)}
        first = sorted((c for c in self.warm_starts[:self.n_first] if c[0] in order),
                       key=lambda c: order[c[0]])
        rest = sorted((c for c in self.warm_starts[self.n_first:] if c[0] in order),
                      key=lambda c: (self._round(c), order[c[0]]))
        if self.n_first and all(c[0] != keep[0] for c in first):
            lead = next((c for c in rest if c[0] == keep[0]), None)
            if lead is not None:
                first.insert(0, lead)
                rest = [c for c in rest if c is not lead]
        return Plan(keep, first + rest, [c for c in self.probes if c[0] in order],
                    {k: v for k, v in self.prior.items() if k in order}, len(first), self.more)

    def _round(self, config: Config) -> int:
        same = [c for c in self.warm_starts[self.n_first:] if c[0] == config[0]]
        return next(i for i, c in enumerate(same) if c is config)


def warm_plan(recommendations: Sequence[Any], n_rows: int, *, top: int = TOP_LEARNERS,
              per_learner: int = CONFIGS_PER_LEARNER) -> Plan:
    """The warm-started plan: top learners; their recommended first trials, then the other
    configurations interleaved rank by rank.

    The first trials (``first_trials`` of the recommendations) are chosen as a set across
    learners. Without them, and after them, round-robin (first configuration of every
    learner, then the second ones…) so that a short budget still tries each recommended
    learner once before refining any of them.
    """
    allowed = [r for r in recommendations if eligible(r.learner, n_rows)]
    chosen = allowed[:top]
    configs = {r.learner: [dict(c) for c in r.configurations]
               or [LEARNERS[r.learner].default_params()] for r in chosen}
    first = sorted((trial, r.learner, i) for r in chosen
                   for i, trial in enumerate(getattr(r, "first_trials", None) or [])
                   if i < len(configs[r.learner]))
    order = [(learner, i) for _, learner, i in first]
    order += [(r.learner, j) for j in range(per_learner) for r in chosen
              if j < len(configs[r.learner]) and (r.learner, j) not in order]
    warm = [(learner, configs[learner][i]) for learner, i in order]
    probes = [(r.learner, configs[r.learner][0]) for r in chosen]
    prior = {r.learner: float(r.expected_score) for r in chosen
             if getattr(r, "expected_score", None) is not None}
    return Plan([r.learner for r in chosen], warm, probes, prior, len(first),
                [r.learner for r in allowed[top:]])


def cold_plan(n_rows: int) -> Plan:
    """The cold-start plan: the whole eligible zoo, no prior, no probes (TPE from scratch)."""
    return Plan([name for name in LEARNERS if eligible(name, n_rows)])
