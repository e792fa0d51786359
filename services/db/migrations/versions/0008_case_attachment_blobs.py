"""case attachments: their bytes move to the blob store, so the row's content may be empty

Revision ID: 0008_case_attachment_blobs
Revises: 0005_cases_checkpoints
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_case_attachment_blobs"
down_revision = "0005_cases_checkpoints"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_attachments", schema=None) as batch_op:
        batch_op.alter_column("content", existing_type=sa.LargeBinary(), nullable=True)


def downgrade() -> None:
    # Rows whose bytes are in the blob store cannot go back to a NOT NULL column.
    with op.batch_alter_table("case_attachments", schema=None) as batch_op:
        batch_op.alter_column("content", existing_type=sa.LargeBinary(), nullable=False)
