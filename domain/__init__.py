"""OpenJam's domain model: aggregates and the rules they enforce.

Pure code: no I/O, no clock reads, no randomness. Times and ids come in as
arguments, so replaying the log always rebuilds the same state.
"""

from domain.comment import Comment
from domain.idea import Idea
from domain.jam import Forum, Jam
from domain.participant import Invite, Participant, SignInKey
from domain.vote import Vote

__all__ = ["Comment", "Forum", "Idea", "Invite", "Jam", "Participant", "SignInKey", "Vote"]
