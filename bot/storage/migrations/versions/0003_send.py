"""sending reliability: when a send was first tried

Revision ID: 0003_send
Revises: 0002
Create Date: 2026-12-03 13:10:00

A send whose outcome is unknown (the provider took longer than our timeout to answer) is tried
again only within `[service] resend_window_minutes` of its first try.
"""
from alembic import op
import sqlalchemy as sa
import bot.storage.models


revision = '0003_send'
down_revision = '0003_respond'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_tried_at', bot.storage.models.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('first_tried_at')
