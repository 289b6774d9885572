"""a mentee's safe-contact code word is stored encrypted, like their name and number

Revision ID: 0004_code_word
Revises: 0003_protect
Create Date: 2026-12-03 17:10:00

The code word ("someone is here, I can't talk") would tell whoever read the database what a mentee
at risk of abuse texts to stop contact, so it is encrypted at rest; its column becomes text. A
word stored in clear before this still matches (an unencrypted value reads as it is) and
`checkins rotate-key` encrypts it.
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_code_word'
down_revision = '0003_protect'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('mentees') as batch_op:
        batch_op.alter_column('code_word', type_=sa.Text(), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('mentees') as batch_op:
        batch_op.alter_column('code_word', type_=sa.String(length=40), existing_nullable=True)
