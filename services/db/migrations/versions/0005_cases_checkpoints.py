"""cases with commitments, entries and attachments; signed audit checkpoints

Revision ID: 0005_cases_checkpoints
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import services.db.base

revision = "0005_cases_checkpoints"
down_revision = "0001"
branch_labels = None
depends_on = None

UTC = services.db.base.UTCDateTime


def _case_columns() -> list[sa.Column]:  # fresh objects per use: a Column joins one table
    return [
        sa.Column("category", sa.String(length=40), nullable=False, server_default="other"),
        sa.Column("policy_id", sa.String(length=40), nullable=True),
        sa.Column("payment_id", sa.String(length=40), nullable=True),
        sa.Column("claim_id", sa.String(length=40), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=False, server_default="UTC"),
        sa.Column("channel", sa.String(length=20), nullable=False, server_default="portal"),
        sa.Column("opened_by_user_id", sa.String(length=40), nullable=True),
        sa.Column("team", sa.String(length=20), nullable=False, server_default="front_line"),
        sa.Column("assigned_to", sa.String(length=40), nullable=True),
        sa.Column("escalation_reasons", sa.JSON(), nullable=True),
        sa.Column("escalated_at", UTC(timezone=True), nullable=True),
        sa.Column("contact_count", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("acknowledge_by", UTC(timezone=True), nullable=True),
        sa.Column("target_resolution_by", UTC(timezone=True), nullable=True),
        sa.Column("summary_resolution_by", UTC(timezone=True), nullable=True),
        sa.Column("final_response_by", UTC(timezone=True), nullable=True),
        sa.Column("acknowledged_at", UTC(timezone=True), nullable=True),
        sa.Column("resolved_at", UTC(timezone=True), nullable=True),
        sa.Column("closed_at", UTC(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=30), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=False, server_default=""),
        sa.Column("remedy_kind", sa.String(length=20), nullable=True),
        sa.Column("remedy_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False, server_default="USD"),
        sa.Column("remedy_reference", sa.String(length=80), nullable=True),
        sa.Column("updated_at", UTC(timezone=True), nullable=True),
    ]


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        for column in _case_columns():
            batch_op.add_column(column)
        batch_op.create_index("ix_cases_status_due", ["status", "due_at"], unique=False)

    op.create_table(
        "case_entries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("case_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("at", UTC(timezone=True), nullable=False),
        sa.Column("author_id", sa.String(length=40), nullable=True),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("author_role", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("visible_to_customer", sa.Boolean(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_entries_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_entries")),
    )
    with op.batch_alter_table("case_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_entries_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_attachments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("case_id", sa.String(length=40), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=80), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_attachments_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_attachments")),
    )
    with op.batch_alter_table("case_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_attachments_case_id"), ["case_id"], unique=False)

    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("chain_key", sa.String(length=40), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("sealed_at", UTC(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.create_index("ix_audit_checkpoints_chain", ["chain_key", "length"], unique=True)
    _append_only("audit_checkpoints")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_checkpoints_append_only ON audit_checkpoints")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_checkpoints_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_checkpoints_no_delete")
    op.drop_table("audit_checkpoints")
    op.drop_table("case_attachments")
    op.drop_table("case_entries")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_status_due")
        for column in _case_columns():
            batch_op.drop_column(column.name)


def _append_only(table: str) -> None:
    # Checkpoints are evidence like the trail they seal: the database refuses to rewrite them.
    # portal_audit_append_only() is created by the core revision 0001.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION portal_audit_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
            )
