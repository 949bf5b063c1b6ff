"""The ranking's settings: one frozen, versioned struct.

A ranking is a pure function of (snapshot, topics, vectors, config), so every
weight lives here and `version` names the set; change `version` whenever a
value changes, so a stored ranking says which rules produced it.
"""

from __future__ import annotations

import msgspec


class RankingConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    version: str = "2026.12-6"  # -6: "now" is the newest change that ranks, moderation included
    # Support and its uncertainty
    z: float = 1.96  # Wilson interval at 95%
    bridging_weight: float = 0.5  # score = wilson^(1-b) * bridging^b
    group_weight: float = 0.5  # bridging = group consensus^g * segment consensus^(1-g)
    depth_weight: float = 0.05  # discussion depth, a secondary signal
    momentum_weight: float = 0.05  # trend of the last hour, a secondary signal
    # Opinion groups (Pol.is style)
    min_votes_for_group: int = 7  # participants with fewer votes are left unassigned
    min_group_participants: int = 10  # fewer eligible participants: no opinion groups
    max_groups: int = 5
    # Integrity: coordinated voting
    pattern_similarity: float = 0.25  # Jaccard of (idea, value) sets linking two accounts
    min_shared_votes: int = 5  # a link needs at least this many identical votes
    min_suspect_group: int = 5  # smaller linked groups are never flagged
    burst_window_hours: float = 1.0  # linked accounts that joined or voted within one window
    fresh_hours: float = 2.0  # "new accounts": first vote within this time of joining
    coordination_lift: float = 0.4  # ...flagged when they vote this much more than the room
    # The shortlist
    shortlist_size: int = 20
    mmr_lambda: float = 0.7  # relevance vs. novelty in maximal marginal relevance
    theme_ideas: int = 5  # best ideas listed per theme
    theme_top: int = 3  # a theme's score: the sum of its best ideas' scores
    random_state: int = 0
