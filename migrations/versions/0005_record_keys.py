"""Every response carries a random record key for cell-key perturbation

Published counts are perturbed by the cell-key method: a cell's key is the sum of its
respondents' record keys, modulo 256. Each response gets a key from 0 to 255 at random,
never derived from anything about the resident and never exported. Responses already
stored get theirs here.

Revision ID: 0005_record_keys
Revises: 0004_borough_asked
Create Date: 2026-12-01 17:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0005_record_keys"
down_revision = "0004_borough_asked"
branch_labels = None
depends_on = None


def upgrade():
    # Added with a default, then filled: a batch copy of the table would drop the answers
    # that refer to it.
    op.add_column(
        "responses",
        sa.Column("record_key", sa.SmallInteger(), nullable=False, server_default="0"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE responses SET record_key = floor(random() * 256)::smallint")
    else:
        op.execute("UPDATE responses SET record_key = abs(random()) % 256")


def downgrade():
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_column("record_key")
