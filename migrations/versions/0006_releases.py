"""Releases: published results for residents, frozen once approved

Revision ID: 0006_releases
Revises: 0005_record_keys
Create Date: 2026-12-06 02:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0006_releases"
down_revision = "0005_record_keys"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("indicators", sa.JSON(), nullable=False),
        sa.Column("breakdowns", sa.JSON(), nullable=False),
        sa.Column("commentary", sa.Text(), nullable=False),
        sa.Column("corrects_id", sa.Integer(), nullable=True),
        sa.Column("correction_note", sa.Text(), nullable=False),
        sa.Column("prepared_by", sa.Integer(), nullable=False),
        sa.Column("prepared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("publish_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["corrects_id"], ["releases.id"], name=op.f("fk_releases_corrects_id_releases")
        ),
        sa.ForeignKeyConstraint(
            ["prepared_by"], ["staff_users.id"], name=op.f("fk_releases_prepared_by_staff_users")
        ),
        sa.ForeignKeyConstraint(
            ["approved_by"], ["staff_users.id"], name=op.f("fk_releases_approved_by_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_releases")),
    )
    op.create_index(op.f("ix_releases_publish_at"), "releases", ["publish_at"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_releases_publish_at"), table_name="releases")
    op.drop_table("releases")
