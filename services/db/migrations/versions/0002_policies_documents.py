"""policies, documents and ID cards: parties, vehicles, properties, coverages, stored PDFs, ID cards,
and the holder's paperless preference

Revision ID: 0002_policies_documents
Revises: 0001
Create Date: 2026-11-23 02:20:00
"""
from alembic import op
import sqlalchemy as sa
import services.db.base


revision = "0002_policies_documents"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_parties",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("policy_id", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("relationship", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["policy_id"], ["policies.id"], name=op.f("fk_policy_parties_policy_id_policies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_parties")),
    )
    op.create_index(op.f("ix_policy_parties_policy_id"), "policy_parties", ["policy_id"], unique=False)
    op.create_table(
        "policy_vehicles",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("policy_id", sa.String(length=40), nullable=False),
        sa.Column("vin", sa.String(length=17), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("make", sa.String(length=60), nullable=False),
        sa.Column("model", sa.String(length=60), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("added_at", services.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("removed_at", services.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["policy_id"], ["policies.id"], name=op.f("fk_policy_vehicles_policy_id_policies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_vehicles")),
    )
    op.create_index(op.f("ix_policy_vehicles_policy_id"), "policy_vehicles", ["policy_id"], unique=False)
    op.create_index(op.f("ix_policy_vehicles_vin"), "policy_vehicles", ["vin"], unique=False)
    op.create_table(
        "policy_properties",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("policy_id", sa.String(length=40), nullable=False),
        sa.Column("address", sa.String(length=400), nullable=False),
        sa.Column("postcode", sa.String(length=20), nullable=False),
        sa.Column("dwelling", sa.String(length=60), nullable=False),
        sa.Column("year_built", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["policies.id"], name=op.f("fk_policy_properties_policy_id_policies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_properties")),
    )
    op.create_index(op.f("ix_policy_properties_policy_id"), "policy_properties", ["policy_id"], unique=False)
    op.create_table(
        "policy_coverages",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("policy_id", sa.String(length=40), nullable=False),
        sa.Column("vehicle_id", sa.String(length=40), nullable=True),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("limit_minor", sa.BigInteger(), nullable=True),
        sa.Column("limit_per_accident_minor", sa.BigInteger(), nullable=True),
        sa.Column("deductible_minor", sa.BigInteger(), nullable=True),
        sa.Column("premium_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["policies.id"], name=op.f("fk_policy_coverages_policy_id_policies")
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["policy_vehicles.id"], name=op.f("fk_policy_coverages_vehicle_id_policy_vehicles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_coverages")),
    )
    op.create_index(op.f("ix_policy_coverages_policy_id"), "policy_coverages", ["policy_id"], unique=False)
    op.create_table(
        "documents",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("policy_id", sa.String(length=40), nullable=True),
        sa.Column("vehicle_id", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("slot", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("page_count", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", services.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_documents_account_id_accounts")),
        sa.ForeignKeyConstraint(["policy_id"], ["policies.id"], name=op.f("fk_documents_policy_id_policies")),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["policy_vehicles.id"], name=op.f("fk_documents_vehicle_id_policy_vehicles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("slot", name=op.f("uq_documents_slot")),
    )
    op.create_index("ix_documents_account_created", "documents", ["account_id", "created_at"], unique=False)
    op.create_index(op.f("ix_documents_policy_id"), "documents", ["policy_id"], unique=False)
    op.create_table(
        "id_cards",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("policy_id", sa.String(length=40), nullable=False),
        sa.Column("vehicle_id", sa.String(length=40), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=1000), nullable=False),
        sa.Column("page_document_id", sa.String(length=40), nullable=False),
        sa.Column("wallet_document_id", sa.String(length=40), nullable=False),
        sa.Column("issued_at", services.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["policy_id"], ["policies.id"], name=op.f("fk_id_cards_policy_id_policies")),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["policy_vehicles.id"], name=op.f("fk_id_cards_vehicle_id_policy_vehicles")
        ),
        sa.ForeignKeyConstraint(
            ["page_document_id"], ["documents.id"], name=op.f("fk_id_cards_page_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["wallet_document_id"], ["documents.id"], name=op.f("fk_id_cards_wallet_document_id_documents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_id_cards")),
    )
    op.create_index(op.f("ix_id_cards_policy_id"), "id_cards", ["policy_id"], unique=False)
    op.create_index(op.f("ix_id_cards_vehicle_id"), "id_cards", ["vehicle_id"], unique=False)
    with op.batch_alter_table("account_holders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paperless", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("account_holders", schema=None) as batch_op:
        batch_op.drop_column("paperless")
    op.drop_table("id_cards")
    op.drop_table("documents")
    op.drop_table("policy_coverages")
    op.drop_table("policy_properties")
    op.drop_table("policy_vehicles")
    op.drop_table("policy_parties")
