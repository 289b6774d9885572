"""respond: a check-in paused by a crisis disclosure (conversations.paused_at)

Revision ID: 0003_respond
Revises: 0002
Create Date: 2026-12-03 13:05:00

While `paused_at` is set the check-in asks nothing more and sends no reminder; it closes at
expiry with the answers so far (outcome "interrupted") or carries on when the mentee texts
CHECKIN.
"""
from alembic import op
import sqlalchemy as sa
import bot.storage.models


revision = '0003_respond'
down_revision = '0003_staff_web'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paused_at', bot.storage.models.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('paused_at')
