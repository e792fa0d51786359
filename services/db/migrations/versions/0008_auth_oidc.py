"""auth: OpenID provider identities linked to users, spent sign-in states

Revision ID: 0008_auth_oidc
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import services.db.base

revision = "0008_auth_oidc"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oidc_identities",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("issuer", sa.String(length=400), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("linked_email", sa.String(length=320), nullable=False),
        sa.Column("linked_at", services.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_sign_in_at", services.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_amr", sa.JSON(), nullable=True),
        sa.Column("last_acr", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_oidc_identities_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_identities")),
        sa.UniqueConstraint("issuer", "subject", name="uq_oidc_identities_issuer_subject"),
        sa.UniqueConstraint("issuer", "user_id", name="uq_oidc_identities_issuer_user"),
    )
    op.create_index(op.f("ix_oidc_identities_user_id"), "oidc_identities", ["user_id"], unique=False)
    op.create_table(
        "oidc_spent_states",
        sa.Column("state_id", sa.String(length=64), nullable=False),
        sa.Column("spent_at", services.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("state_id", name=op.f("pk_oidc_spent_states")),
    )
    op.create_index(op.f("ix_oidc_spent_states_spent_at"), "oidc_spent_states", ["spent_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_oidc_spent_states_spent_at"), table_name="oidc_spent_states")
    op.drop_table("oidc_spent_states")
    op.drop_index(op.f("ix_oidc_identities_user_id"), table_name="oidc_identities")
    op.drop_table("oidc_identities")
