"""scale: mentees.planned_until, so start-up and the daily planner pass over planned mentees

Revision ID: 0003_scale
Revises: 0002
Create Date: 2026-12-03 12:50:00
"""
from alembic import op
import sqlalchemy as sa
import bot.storage.models


revision = '0003_scale'
down_revision = '0003_send'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('mentees', schema=None) as batch_op:
        batch_op.add_column(sa.Column('planned_until', bot.storage.models.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('mentees', schema=None) as batch_op:
        batch_op.drop_column('planned_until')
