"""The search index: one row per searchable term (name word, email, phone, postcode, numbers)."""

from __future__ import annotations

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.db.base import Base

# Byte-order collation on PostgreSQL: prefix searches are btree range scans
# (term >= 'q' AND term < 'q~'), which only hold under a byte-wise ordering.
TermType = String(120).with_variant(String(120, collation="C"), "postgresql")


class SearchTerm(Base):
    """A normalised term (lower-case ASCII letters and digits only) pointing at a customer."""

    __tablename__ = "search_terms"
    __table_args__ = (Index("ix_search_terms_term", "term"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    term: Mapped[str] = mapped_column(TermType)
    kind: Mapped[str] = mapped_column(String(12))  # name, email, phone, postcode, policy, claim
    display: Mapped[str] = mapped_column(String(320))  # what matched, as people write it
    account_id: Mapped[str] = mapped_column(String(40), index=True)
    holder_id: Mapped[str | None] = mapped_column(String(40), default=None)
    source_id: Mapped[str] = mapped_column(String(40), index=True)  # holder, policy or claim id
