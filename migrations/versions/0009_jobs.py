"""Jobs: staff work done by a worker, with where it stands and its result

Revision ID: 0009_jobs
Revises: 0008_staff_accounts
Create Date: 2026-12-07 23:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0009_jobs"
down_revision = "0008_staff_accounts"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("progress", sa.String(200), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["staff_users.id"], name="fk_jobs_created_by_staff_users"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
    )
    op.create_index("ix_jobs_created_by", "jobs", ["created_by"])


def downgrade():
    op.drop_index("ix_jobs_created_by", "jobs")
    op.drop_table("jobs")
