"""Posts."""

from __future__ import annotations

from app.models import Post
from app.repositories.base import BaseRepository


class PostRepository(BaseRepository[Post]):
    model = Post
    searchable = ("title", "content")
