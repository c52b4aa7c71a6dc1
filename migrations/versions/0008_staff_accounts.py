"""Set-password links, a second factor with recovery codes, and sessions in stages

Revision ID: 0008_staff_accounts
Revises: 0007_release_contributors
Create Date: 2026-12-07 22:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0008_staff_accounts"
down_revision = "0007_release_contributors"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("staff_users") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(64), nullable=True))
        batch.add_column(sa.Column("totp_enrolled_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("password_link_seen_by", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_staff_users_password_link_seen_by_staff_users",
            "staff_users",
            ["password_link_seen_by"],
            ["id"],
        )
    with op.batch_alter_table("staff_sessions") as batch:
        batch.add_column(
            sa.Column("stage", sa.String(8), nullable=False, server_default="full")
        )
        batch.add_column(sa.Column("browser", sa.String(80), nullable=False, server_default=""))
    op.create_table(
        "password_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("emailed", sa.Boolean(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["staff_users.id"], name="fk_password_links_user_id_staff_users"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["staff_users.id"], name="fk_password_links_created_by_staff_users"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_password_links"),
        sa.UniqueConstraint("token_hash", name="uq_password_links_token_hash"),
    )
    op.create_index("ix_password_links_user_id", "password_links", ["user_id"])
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["staff_users.id"], name="fk_recovery_codes_user_id_staff_users"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_recovery_codes"),
    )
    op.create_index("ix_recovery_codes_user_id", "recovery_codes", ["user_id"])


def downgrade():
    op.drop_index("ix_recovery_codes_user_id", "recovery_codes")
    op.drop_table("recovery_codes")
    op.drop_index("ix_password_links_user_id", "password_links")
    op.drop_table("password_links")
    with op.batch_alter_table("staff_sessions") as batch:
        batch.drop_column("browser")
        batch.drop_column("stage")
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_constraint(
            "fk_staff_users_password_link_seen_by_staff_users", type_="foreignkey"
        )
        batch.drop_column("password_link_seen_by")
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_enrolled_at")
        batch.drop_column("totp_secret")
