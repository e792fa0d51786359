"""claims: loss details, SLA dates, timeline, photos, staff permissions

Revision ID: 0004_claims
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import services.db.base

revision = "0004_claims"
down_revision = "0001"
branch_labels = None
depends_on = None


def _claim_columns() -> list[sa.Column]:  # fresh objects per use: a Column joins one table
    return [
        sa.Column("vehicle", sa.String(length=200), nullable=False, server_default=""),
        sa.Column("other_parties", sa.Text(), nullable=False, server_default=""),
        sa.Column("police_report", sa.String(length=60), nullable=False, server_default=""),
        sa.Column("injuries", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("injury_details", sa.Text(), nullable=False, server_default=""),
        sa.Column("outside_term", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("filed_by_user_id", sa.String(length=40), nullable=True),
        sa.Column("acknowledge_by", sa.Date(), nullable=True),
        sa.Column("review_by", sa.Date(), nullable=True),
        sa.Column("acknowledged_at", services.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reviewed_at", services.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("approved_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False, server_default="USD"),
        sa.Column("decision_reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("info_request", sa.Text(), nullable=False, server_default=""),
        sa.Column("updated_at", services.db.base.UTCDateTime(timezone=True), nullable=True),
    ]


def upgrade() -> None:
    with op.batch_alter_table("claims", schema=None) as batch_op:
        for column in _claim_columns():
            batch_op.add_column(column)

    op.create_table(
        "claim_steps",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("claim_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("occurred_at", services.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(length=40), nullable=True),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_claim_steps_claim_id_claims")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_steps")),
    )
    with op.batch_alter_table("claim_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claim_steps_claim_id"), ["claim_id"], unique=False)

    op.create_table(
        "claim_photos",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("claim_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("captured_at", sa.String(length=40), nullable=True),
        sa.Column("uploaded_at", services.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_claim_photos_claim_id_claims")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_claim_photos_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_photos")),
    )
    with op.batch_alter_table("claim_photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claim_photos_claim_id"), ["claim_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_claim_photos_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_claim_photos_sha256"), ["sha256"], unique=False)

    op.create_table(
        "staff_permissions",
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("permission", sa.String(length=40), nullable=False),
        sa.Column("granted_at", services.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_staff_permissions_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", "permission", name=op.f("pk_staff_permissions")),
    )


def downgrade() -> None:
    op.drop_table("staff_permissions")
    with op.batch_alter_table("claim_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claim_photos_sha256"))
        batch_op.drop_index(batch_op.f("ix_claim_photos_account_id"))
        batch_op.drop_index(batch_op.f("ix_claim_photos_claim_id"))
    op.drop_table("claim_photos")
    with op.batch_alter_table("claim_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claim_steps_claim_id"))
    op.drop_table("claim_steps")
    with op.batch_alter_table("claims", schema=None) as batch_op:
        for column in reversed(_claim_columns()):
            batch_op.drop_column(column.name)
