"""staff: customer search index, presence, internal notes

Revision ID: 0006_staff
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import services.db.base

revision = "0006_staff"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_terms",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        # Byte-order collation on PostgreSQL so prefix range scans use the btree index.
        sa.Column(
            "term",
            sa.String(length=120).with_variant(sa.String(length=120, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("display", sa.String(length=320), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("holder_id", sa.String(length=40), nullable=True),
        sa.Column("source_id", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_terms")),
    )
    op.create_index("ix_search_terms_term", "search_terms", ["term"], unique=False)
    op.create_index(op.f("ix_search_terms_account_id"), "search_terms", ["account_id"], unique=False)
    op.create_index(op.f("ix_search_terms_source_id"), "search_terms", ["source_id"], unique=False)
    op.create_table(
        "presence_sessions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("user_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("branch_id", sa.String(length=40), nullable=True),
        sa.Column("instance_id", sa.String(length=40), nullable=False),
        sa.Column("connected_at", services.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", services.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_presence_sessions")),
    )
    op.create_index(
        op.f("ix_presence_sessions_account_id"), "presence_sessions", ["account_id"], unique=False
    )
    op.create_index(
        op.f("ix_presence_sessions_last_seen_at"), "presence_sessions", ["last_seen_at"], unique=False
    )
    op.create_table(
        "account_notes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("author_id", sa.String(length=40), nullable=False),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("author_role", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("branch_id", sa.String(length=40), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", services.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_notes_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_notes")),
    )
    op.create_index(op.f("ix_account_notes_account_id"), "account_notes", ["account_id"], unique=False)
    op.create_index(op.f("ix_account_notes_created_at"), "account_notes", ["created_at"], unique=False)
    # Existing customers are indexed by services.runtime.migrate right after the upgrade: a
    # migration stays a frozen description of tables and never imports service code.


def downgrade() -> None:
    op.drop_table("account_notes")
    op.drop_table("presence_sessions")
    op.drop_table("search_terms")
