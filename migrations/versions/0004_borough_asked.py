"""Every resident is asked where they live; a link's borough is where it is distributed

Links used to set the resident's borough to the link's borough without asking. From now on
a link's borough (renamed distribution_borough) says only where the link is used, and every
resident answers the borough question. Responses already stored through such links are
marked borough_from_link: reports leave them out of borough breakdowns and weighting by
default. Unfinished drafts on such links lose the borough the link filled in, so the
resident is asked.

Revision ID: 0004_borough_asked
Revises: 0003_synthetic_links
Create Date: 2026-12-01 16:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0004_borough_asked"
down_revision = "0003_synthetic_links"
branch_labels = None
depends_on = None


def upgrade():
    # A plain rename (SQLite 3.25+ and PostgreSQL): a batch copy of the table would drop
    # the links every response refers to.
    op.alter_column("links", "fixed_borough", new_column_name="distribution_borough")
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "borough_from_link", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    op.execute(
        "UPDATE responses SET borough_from_link = TRUE WHERE link_id IN "
        "(SELECT id FROM links WHERE distribution_borough IS NOT NULL)"
    )
    drafts = sa.table(
        "drafts", sa.column("token_hash", sa.String), sa.column("answers", sa.JSON),
        sa.column("link_id", sa.Integer),
    )
    links = sa.table(
        "links", sa.column("id", sa.Integer), sa.column("distribution_borough", sa.String)
    )
    connection = op.get_bind()
    filled_in = connection.execute(
        sa.select(drafts.c.token_hash, drafts.c.answers, links.c.distribution_borough)
        .join(links, links.c.id == drafts.c.link_id)
        .where(links.c.distribution_borough.is_not(None))
    ).all()
    for token_hash, answers, borough in filled_in:
        kept = {question: value for question, value in (answers or {}).items() if value != borough}
        connection.execute(
            drafts.update().where(drafts.c.token_hash == token_hash).values(answers=kept)
        )


def downgrade():
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_column("borough_from_link")
    op.alter_column("links", "distribution_borough", new_column_name="fixed_borough")
