"""Releases remember everyone who prepared or revised them, so none of them can approve

Revision ID: 0007_release_contributors
Revises: 0006_releases
Create Date: 2026-12-07 20:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0007_release_contributors"
down_revision = "0006_releases"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("releases") as batch:
        batch.add_column(
            sa.Column("contributors", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade():
    with op.batch_alter_table("releases") as batch:
        batch.drop_column("contributors")
