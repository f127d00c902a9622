"""Who counts as a person in the people metrics, and who counts as having responded."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.report.records import Actor, ActorKind


@dataclass(frozen=True)
class PeoplePolicy:
    """The configured rules: ``report.ignore_users`` and ``report.bots_excluded``.

    Logins compare case-insensitively, as GitHub does.
    """

    ignore_users: frozenset[str] = frozenset()
    bots_excluded: bool = True

    @classmethod
    def build(cls, ignore_users: Iterable[str] = (), *, bots_excluded: bool = True) -> PeoplePolicy:
        return cls(frozenset(u.lower() for u in ignore_users), bots_excluded)

    def is_ignored(self, actor: Actor) -> bool:
        return actor.name.lower() in self.ignore_users

    def counts_item_by(self, author: Actor) -> bool:
        """Items opened by ignored users, or by bots when they are excluded, are left out.

        Items of deleted accounts stay: the work they asked for is real.
        """
        if self.is_ignored(author):
            return False
        return not (author.is_bot and self.bots_excluded)

    def counts_as_contributor(self, actor: Actor) -> bool:
        """Named in contributor counts and lists.

        Deleted accounts are left out: every one of them shows as the same ``ghost``, so
        counting it would merge many people into one.
        """
        if actor.kind is ActorKind.GHOST or self.is_ignored(actor):
            return False
        return not (actor.is_bot and self.bots_excluded)

    def is_response(self, responder: Actor, author: Actor) -> bool:
        """A comment or review answers an item when someone else, not a bot, wrote it.

        Bots never count as a response (an automatic greeting is not one), whatever
        ``bots_excluded`` says; a deleted account still did respond.
        """
        if responder.is_bot or self.is_ignored(responder):
            return False
        return responder.name.lower() != author.name.lower()
