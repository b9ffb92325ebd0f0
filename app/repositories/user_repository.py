"""Users and profiles."""

from __future__ import annotations

from sqlalchemy import select

from app.models import Profile, User
from app.repositories.base import BaseRepository


class UserRepository(BaseRepository[User]):
    model = User
    searchable = ("name", "email")

    async def find_by_email(self, email: str) -> User | None:
        result = await self.session.execute(
            select(User).where(User.email == email, User.deleted_at.is_(None))
        )
        return result.scalar_one_or_none()

    async def find_active(self, skip: int = 0, limit: int = 100) -> list[User]:
        result = await self.session.execute(
            select(User)
            .where(User.is_active.is_(True), User.deleted_at.is_(None))
            .order_by(User.created_at.desc(), User.id.desc())
            .offset(skip)
            .limit(limit)
        )
        return list(result.scalars().all())

    async def search(self, query: str, limit: int = 100) -> list[User]:
        """Live users whose name or email contains ``query``, as the search box matches."""
        condition = self.search_condition(query, use_index=await self.search_uses_index(query))
        statement = select(User).where(User.deleted_at.is_(None)).order_by(User.id).limit(limit)
        if condition is not None:
            statement = statement.where(condition)
        result = await self.session.execute(statement)
        return list(result.scalars().all())


class ProfileRepository(BaseRepository[Profile]):
    model = Profile
    searchable = ("bio", "avatar_url")
